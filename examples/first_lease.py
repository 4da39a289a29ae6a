"""Put a job, let worker-a's lease lapse, and watch worker-b take the job over."""

import qless_sim as qless

client = qless.client(worker_name="worker-a")  # a fresh simulated qless, clock frozen at 2024-01-01
queue = client.queue("testing")
queue.put("app.jobs.Resize", {"widget": "foo"})

job = queue.pop()
print(f"{job.worker} holds {job.jid}, {job.remaining():.0f} s left on the lease")

client.clock.advance(61)  # past the 60 s lease
client.worker_name = "worker-b"
queue.pop()  # the first pop after expiry starts qless-core's 10 s grace period
client.clock.advance(11)
job = queue.pop()
print(f"{job.worker} now holds {job.jid}")
