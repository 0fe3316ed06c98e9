// The peer: what a team would otherwise write. A Bolt-JS app (HTTP
// receiver, signature checks on) that acknowledges /incident and appends
// the command to a file, fsync'd before the acknowledgement.
//   SLACK_SIGNING_SECRET=... PORT=3000 LOG=/tmp/peer.log node app.js
const { App } = require("@slack/bolt");
const fs = require("fs");

const fd = fs.openSync(process.env.LOG || "peer.log", "a");
const app = new App({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  // No Web API calls: a fixed identity, so nothing waits on slack.com.
  authorize: async () => ({ botToken: "xoxb-peer-not-used", botId: "B0PEER", botUserId: "U0PEER" }),
});

app.command("/incident", async ({ command, ack }) => {
  const line = JSON.stringify({ at: new Date().toISOString(), user: command.user_id, channel: command.channel_id, text: command.text }) + "\n";
  await new Promise((resolve, reject) => fs.write(fd, line, (err) => (err ? reject(err) : fs.fsync(fd, (e) => (e ? reject(e) : resolve())))));
  await ack({ response_type: "ephemeral", text: "ok" });
});

(async () => {
  await app.start(Number(process.env.PORT || 3000));
  console.log("peer ready");
})();
