"""Put a job, let worker-a's lease lapse, and watch worker-b take the job over."""

import json

from qless_sim import SimTransport, SimulatedServer

server = SimulatedServer()  # the reqless core, clock frozen at 2024-01-01
qless = SimTransport(server)  # call(command, *args) with now = server.clock.now()

qless.call("put", "producer", "testing", "jid-1", "app.jobs.Resize", json.dumps({"widget": "foo"}), 0)
job = json.loads(qless.call("pop", "testing", "worker-a", 1))[0]
print("worker-a holds", job["jid"], "until", job["expires"])

server.clock.advance(61)  # past the 60 s lease
qless.call("pop", "testing", "worker-b", 1)  # first pop after expiry: a grace period starts
server.clock.advance(11)  # past the 10 s grace period
job = json.loads(qless.call("pop", "testing", "worker-b", 1))[0]
print("now", job["worker"], "holds", job["jid"])
