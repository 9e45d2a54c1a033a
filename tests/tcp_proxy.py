"""A loopback TCP proxy that can cut every connection on demand: a real dropped
Bolt connection in the middle of a batch, without mocking the driver or server."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.cut_after_bytes: int | None = None  # client->server bytes before the next cut
        self.refuse = False
        self.cuts = 0
        self._forwarded = 0
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
                if outbound:
                    with self._lock:
                        self._forwarded += len(chunk)
                        due = self.cut_after_bytes is not None and self._forwarded >= self.cut_after_bytes
                    if due:
                        self.cut_all()
                        return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def arm(self, after_bytes: int) -> None:
        with self._lock:
            self._forwarded = 0
            self.cut_after_bytes = after_bytes

    def cut_all(self) -> None:
        with self._lock:
            self.cut_after_bytes = None
            self.cuts += 1
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut_all()
