"""A prior-knowledge h2c connection for the test scripts beside it: `H2Client(port).get(path,
extra)` asks GET PATH (with extra header fields) and answers the response's header fields as
the h2 package decoded them (NeverIndexedHeaderTuple for those sent never indexed)."""
import socket, sys
import h2.connection, h2.config, h2.events


class H2Client:
    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()

    def get(self, path, extra=()):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", f"127.0.0.1:{self.port}"), *extra],
                               end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        headers = None
        while True:
            data = self.sock.recv(65536)
            if not data:
                sys.exit("connection closed")
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    headers = ev.headers
                elif isinstance(ev, h2.events.StreamEnded):
                    self.sock.sendall(self.conn.data_to_send())
                    return headers
            self.sock.sendall(self.conn.data_to_send())
