// worker-mailer (an SMTP client on cloudflare:sockets) sends one email to
// the SMTP server named by ?host=&port=, with STARTTLS when ?starttls=1.
import { WorkerMailer } from "worker-mailer";

export default {
  async fetch(req: Request): Promise<Response> {
    const u = new URL(req.url);
    try {
      const mailer = await WorkerMailer.connect({
        host: u.searchParams.get("host")!,
        port: Number(u.searchParams.get("port")),
        secure: false,
        startTls: u.searchParams.get("starttls") === "1",
        authType: "plain",
        credentials: { username: "bob@example.com", password: "hunter2" },
      });
      await mailer.send({
        from: { name: "Bob", email: "bob@example.com" },
        to: { email: "alice@example.com" },
        subject: "Hello from cairn",
        text: "It works.",
      });
      await mailer.close();
      return new Response("sent");
    } catch (e) {
      return new Response(String((e as Error).message), { status: 500 });
    }
  },
};
