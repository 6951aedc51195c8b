"""A real gRPC health server for the tests: grpcio + grpcio-health-checking (Google's own
implementation of grpc.health.v1), nothing written here but the wiring.

    health_server.py PORT_FILE [--tls CERT KEY] [--no-health] [--require-metadata KEY=VALUE]
                     [--exit-on-stdin-eof]

Binds 127.0.0.1:0, writes the port to PORT_FILE, then serves until killed. Services:
  ""            SERVING (the overall server status)
  "ok"          SERVING
  "down"        NOT_SERVING
  anything else is unknown (the health servicer answers NOT_FOUND)
With --no-health the server has no health service at all (calls answer UNIMPLEMENTED).
With --require-metadata KEY=VALUE, a server interceptor (grpcio's own extension point; the
health servicer stays stock) answers UNAUTHENTICATED to any call without that metadata pair,
which makes the metadata a client sends observable. With --exit-on-stdin-eof the server exits
when its stdin closes, so it cannot outlive a test process that was killed.
"""
import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


class RequireMetadata(grpc.ServerInterceptor):
    def __init__(self, key, value):
        self.pair = (key, value)

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing metadata " + key)

        self.deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, details):
        if self.pair in [tuple(m) for m in details.invocation_metadata or ()]:
            return continuation(details)
        return self.deny


def main():
    args = sys.argv[1:]
    port_file = args[0]
    interceptors = []
    if "--require-metadata" in args:
        key, _, value = args[args.index("--require-metadata") + 1].partition("=")
        interceptors.append(RequireMetadata(key, value))
    if "--exit-on-stdin-eof" in args:
        import os
        import threading

        def lifeline():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=lifeline, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
    if "--no-health" not in args:
        servicer = health.HealthServicer()
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        servicer.set("ok", health_pb2.HealthCheckResponse.SERVING)
        servicer.set("down", health_pb2.HealthCheckResponse.NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if "--tls" in args:
        i = args.index("--tls")
        with open(args[i + 1], "rb") as f:
            cert = f.read()
        with open(args[i + 2], "rb") as f:
            key = f.read()
        creds = grpc.ssl_server_credentials([(key, cert)])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(port_file + ".tmp", port_file)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
