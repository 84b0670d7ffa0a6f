import NIOCore
import NIOPosix
import NIOHTTP2
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Prometheus
import ArgumentParser
import Crypto
import X509
print("hello")
