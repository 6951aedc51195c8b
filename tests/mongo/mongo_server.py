"""A MongoDB wire-protocol server for the tests: MockupDB (PyPI `mockupdb`, MongoDB Inc.'s own
wire-protocol test server, with PyMongo's `bson`) frames, parses and answers the OP_MSG
messages; this script only says what to answer. Debian has no MongoDB server, and the
registries here have no real mongod that installs without downloading it from elsewhere.

    mongo_server.py PORT_FILE [--user USER --password PW] [--exit-on-stdin-eof] SERVER...

Starts one server per SERVER, each on its own port: SERVER is STATE, or STATE+auth for one
that wants a login (as USER with PW), or STATE+auth+no-skip-empty. STATE (what `hello` says):
  standalone   a writable server outside any replica set (the default)
  primary      the primary of replica set rs0
  secondary    a secondary of it; the primary is elsewhere
  recovering   a member that is neither primary nor secondary (RECOVERING, STARTUP2)
  uninitiated  started with --replSet before rs.initiate()
  error        every command fails: ShutdownInProgress (code 91)
  old          a server before 4.4.2: `hello` is CommandNotFound, `isMaster` answers

A server with +auth checks SCRAM-SHA-256 logins (saslStart/saslContinue) are checked against
that user, written here from RFC 5802/7677 with Python's hashlib and hmac (MockupDB has no
authentication of its own), and its `ping` needs a login. +no-skip-empty ignores the client's
skipEmptyExchange option, as servers before 4.4 do: the conversation takes one more empty
saslContinue.

Every command's name goes to stdout, one a line ("CMD SERVER hello"), so a test can see what
was sent and in which order. Each server binds 127.0.0.1:0; once all listen, PORT_FILE gets one
"SERVER PORT" line each (written by rename).
"""
import base64
import hashlib
import hmac
import os
import sys
import threading

from bson import Binary
from mockupdb import MockupDB

ITERATIONS = 4096


def main():
    args = sys.argv[1:]
    port_file = args.pop(0)
    user = password = None
    servers = []
    while args:
        a = args.pop(0)
        if a == "--user":
            user = args.pop(0)
        elif a == "--password":
            password = args.pop(0)
        elif a == "--exit-on-stdin-eof":

            def lifeline():
                sys.stdin.read()
                os._exit(0)

            threading.Thread(target=lifeline, daemon=True).start()
        else:
            servers.append(a)
    lines = []
    for spec in servers:
        lines.append("%s %d\n" % (spec, serve(spec, user, password)))
    with open(port_file + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(port_file + ".tmp", port_file)
    threading.Event().wait()


def serve(spec, user, password):
    """Starts the server SPEC describes; returns its port."""
    state, *flags = spec.split("+")
    set_name = "rs0"
    if "auth" not in flags:
        password = None
    skip_empty_allowed = "no-skip-empty" not in flags
    salt = os.urandom(16)
    if password is not None:
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    # Per connection (client port): the SCRAM conversation and whether it logged in.
    conversations = {}
    lock = threading.Lock()

    def hello_reply():
        doc = {"maxWireVersion": 21, "minWireVersion": 0, "maxBsonObjectSize": 16777216}
        if state in ("standalone", "old"):
            doc.update(isWritablePrimary=True)
        elif state == "primary":
            doc.update(isWritablePrimary=True, secondary=False, setName=set_name,
                       hosts=["127.0.0.1:27017", "127.0.0.1:27018"], primary="127.0.0.1:27017")
        elif state == "secondary":
            doc.update(isWritablePrimary=False, secondary=True, setName=set_name,
                       hosts=["127.0.0.1:27017", "127.0.0.1:27018"], primary="127.0.0.1:27017")
        elif state == "recovering":
            doc.update(isWritablePrimary=False, secondary=False, setName=set_name,
                       hosts=["127.0.0.1:27017", "127.0.0.1:27018"])
        elif state == "uninitiated":
            doc.update(isWritablePrimary=False, secondary=False, isreplicaset=True,
                       info="Does not have a valid replica set config")
        return doc

    def fail(request, code, errmsg, code_name):
        return request.command_err(code=code, errmsg=errmsg, codeName=code_name)

    def handle(request):
        name = request.command_name
        print("CMD", spec, name, flush=True)
        conn = request.client_port
        if state == "error":
            return fail(request, 91, "The server is in quiesce mode and will shut down",
                        "ShutdownInProgress")
        if name == "hello" and state == "old":
            return fail(request, 59, "no such command: 'hello'", "CommandNotFound")
        if name in ("hello", "isMaster", "ismaster"):
            doc = hello_reply()
            if name != "hello":
                doc["ismaster"] = doc.pop("isWritablePrimary", False)
            return request.ok(doc)
        if name == "saslStart":
            return sasl_start(request, conn)
        if name == "saslContinue":
            return sasl_continue(request, conn)
        if name == "ping":
            with lock:
                logged_in = conversations.get(conn, {}).get("done", False)
            if password is not None and not logged_in:
                return fail(request, 13, "command ping requires authentication", "Unauthorized")
            return request.ok()
        return fail(request, 59, "no such command: '%s'" % name, "CommandNotFound")

    def auth_failed(request):
        return fail(request, 18, "Authentication failed.", "AuthenticationFailed")

    def sasl_start(request, conn):
        doc = request.doc
        if doc.get("mechanism") != "SCRAM-SHA-256" or password is None:
            return fail(request, 2, "Received authentication for mechanism %s which is not "
                        "enabled" % doc.get("mechanism"), "BadValue")
        payload = bytes(doc["payload"]).decode()
        if not payload.startswith("n,,"):
            return fail(request, 17, "channel binding is not supported", "ProtocolError")
        bare = payload[3:]
        attrs = dict(a.split("=", 1) for a in bare.split(","))
        name = attrs["n"].replace("=2C", ",").replace("=3D", "=")
        nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
        first = "r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt).decode(), ITERATIONS)
        skip = skip_empty_allowed and bool((doc.get("options") or {}).get("skipEmptyExchange"))
        with lock:
            # The user is defined in admin: another database has no such user, which
            # mongod, too, says only at the end (it answers with a made-up salt).
            conversations[conn] = {"bare": bare, "first": first, "nonce": nonce,
                                   "user": name if doc.get("$db") == "admin" else None,
                                   "skip": skip, "step": 1, "done": False}
        return request.ok(conversationId=1, done=False, payload=Binary(first.encode()))

    def sasl_continue(request, conn):
        with lock:
            conv = conversations.get(conn)
        if conv is None or request.doc.get("conversationId") != 1:
            return fail(request, 17, "No SASL session state found", "ProtocolError")
        payload = bytes(request.doc["payload"]).decode()
        if conv["step"] == 2:
            # The empty exchange after the server-final message.
            if payload:
                return auth_failed(request)
            conv["done"] = True
            return request.ok(conversationId=1, done=True, payload=Binary(b""))
        attrs = dict(a.split("=", 1) for a in payload.split(","))
        without_proof = payload[: payload.rindex(",p=")]
        if attrs.get("r") != conv["nonce"] or attrs.get("c") != "biws" or conv["user"] != user:
            return auth_failed(request)
        auth_message = ",".join([conv["bare"], conv["first"], without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = base64.b64decode(attrs["p"])
        claimed_key = bytes(a ^ b for a, b in zip(proof, signature))
        if hashlib.sha256(claimed_key).digest() != stored_key:
            return auth_failed(request)
        server_signature = hmac.new(server_key, auth_message, "sha256").digest()
        final = b"v=" + base64.b64encode(server_signature)
        conv["step"] = 2
        conv["done"] = conv["skip"]
        return request.ok(conversationId=1, done=conv["skip"], payload=Binary(final))

    # MockupDB binds "localhost" as IPv4 only: 127.0.0.1.
    server = MockupDB(port=0)
    server.autoresponds(handle)
    return server.run()


if __name__ == "__main__":
    main()
