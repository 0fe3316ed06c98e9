package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// knownEnv is every variable warroom reads.
func knownEnv() map[string]bool {
	var c Config
	known := map[string]bool{"WARROOM_CONFIG": true}
	for _, s := range c.settings() {
		known[s.env] = true
	}
	return known
}

// TestDeployFilesParse: the deployment examples in deploy/ are valid YAML,
// and every variable they give warroom is one warroom reads (a misspelt
// one would be silently ignored). No Docker engine or cluster runs here.
func TestDeployFilesParse(t *testing.T) {
	known := knownEnv()
	check := func(where, name string) {
		if !known[name] {
			t.Errorf("%s sets %s, which warroom does not read", where, name)
		}
	}

	// docker compose: every service built from warroom.
	raw, err := os.ReadFile("../../deploy/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	replicas := 0
	for name, s := range compose.Services {
		if s.Image != "warroom" {
			continue
		}
		replicas++
		for k := range s.Environment {
			check("docker-compose.yml service "+name, k)
		}
		if !strings.HasPrefix(s.Environment["WARROOM_DB"], "postgres://") || strings.Join(s.Command, " ") != "serve" {
			t.Errorf("service %s: WARROOM_DB %q, command %v; want PostgreSQL and serve", name, s.Environment["WARROOM_DB"], s.Command)
		}
	}
	if replicas < 2 || compose.Services["postgres"].Image == "" {
		t.Errorf("docker-compose.yml has %d warroom replicas and postgres image %q; want two and PostgreSQL", replicas, compose.Services["postgres"].Image)
	}

	// Kubernetes: the Secret's keys and the Deployment's env.
	raw, err = os.ReadFile("../../deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc struct {
			Kind string `yaml:"kind"`

			StringData map[string]string `yaml:"stringData"`
			Spec       struct {
				Replicas     int `yaml:"replicas"`
				MinAvailable int `yaml:"minAvailable"`
				Template     struct {
					Spec struct {
						SecurityContext struct {
							RunAsNonRoot bool `yaml:"runAsNonRoot"`
							RunAsUser    int  `yaml:"runAsUser"`
						} `yaml:"securityContext"`
						Containers []struct {
							Name string `yaml:"name"`
							Env  []struct {
								Name  string `yaml:"name"`
								Value string `yaml:"value"`
							} `yaml:"env"`
							EnvFrom []struct {
								SecretRef struct {
									Name string `yaml:"name"`
								} `yaml:"secretRef"`
							} `yaml:"envFrom"`
							ReadinessProbe struct {
								HTTPGet struct {
									Path string `yaml:"path"`
								} `yaml:"httpGet"`
							} `yaml:"readinessProbe"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes.yaml: %v", err)
		}
		kinds[doc.Kind] = true
		switch doc.Kind {
		case "Secret":
			for k := range doc.StringData {
				check("kubernetes.yaml Secret", k)
			}
			if !strings.HasPrefix(doc.StringData["WARROOM_DB"], "postgres://") {
				t.Errorf("the Secret's WARROOM_DB is %q", doc.StringData["WARROOM_DB"])
			}
		case "Deployment":
			if doc.Spec.Replicas < 2 {
				t.Errorf("the Deployment runs %d replicas", doc.Spec.Replicas)
			}
			// The image's user is a name (distroless "nonroot"): with
			// runAsNonRoot the kubelet starts it only given a uid.
			if sc := doc.Spec.Template.Spec.SecurityContext; sc.RunAsNonRoot && sc.RunAsUser == 0 {
				t.Error("runAsNonRoot without a numeric runAsUser: the kubelet refuses the image's named user")
			}
			for _, c := range doc.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					check("kubernetes.yaml container "+c.Name, e.Name)
				}
				if c.ReadinessProbe.HTTPGet.Path != "/healthz" || len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef.Name != "warroom" {
					t.Errorf("container %s: readiness %q, secrets %v", c.Name, c.ReadinessProbe.HTTPGet.Path, c.EnvFrom)
				}
			}
		case "PodDisruptionBudget":
			if doc.Spec.MinAvailable < 1 {
				t.Error("the PodDisruptionBudget keeps no replica up")
			}
		}
	}
	for _, k := range []string{"Secret", "Deployment", "PodDisruptionBudget", "Service"} {
		if !kinds[k] {
			t.Errorf("kubernetes.yaml has no %s", k)
		}
	}
}
