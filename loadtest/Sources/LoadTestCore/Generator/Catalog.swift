/// The names simulated sensors draw from: executables, container and image names. Invented for
/// the load test; shaped like what ThreatMapper sensors report.
enum Catalog {
    static let executables: [(path: String, arguments: String)] = [
        ("/usr/sbin/nginx", "-g daemon off;"), ("/usr/bin/dockerd", "-H fd:// --containerd=/run/containerd/containerd.sock"),
        ("/usr/bin/containerd", ""), ("/usr/lib/systemd/systemd", "--system --deserialize 31"),
        ("/usr/sbin/sshd", "-D"), ("/usr/local/bin/node", "/srv/app/server.js --port 3000"),
        ("/usr/bin/python3", "-m gunicorn app:wsgi --workers 4"), ("/usr/lib/jvm/java-17/bin/java", "-Xmx2g -jar /opt/service.jar"),
        ("/usr/sbin/cron", "-f"), ("/usr/sbin/rsyslogd", "-n -iNONE"), ("/usr/bin/redis-server", "*:6379"),
        ("/usr/lib/postgresql/15/bin/postgres", "-D /var/lib/postgresql/15/main"), ("/usr/sbin/chronyd", "-F 1"),
        ("/usr/bin/containerd-shim-runc-v2", "-namespace moby -address /run/containerd/containerd.sock"),
        ("/usr/local/bin/envoy", "-c /etc/envoy/envoy.yaml"), ("/usr/bin/prometheus-node-exporter", "--collector.systemd"),
        ("/usr/local/zend/bin/php-fpm", "--nodaemonize"), ("/opt/deepfence/bin/discovery", "--mode=probe"),
        ("/usr/bin/bash", "/entrypoint.sh"), ("/usr/sbin/agetty", "-o -p -- \\u --noclear tty1 linux"),
        ("/usr/bin/dbus-daemon", "--system --address=systemd: --nofork"), ("/usr/lib/snapd/snapd", ""),
        ("/usr/sbin/haproxy", "-Ws -f /etc/haproxy/haproxy.cfg"), ("/usr/bin/memcached", "-m 64 -p 11211 -u memcache"),
    ]
    static let containerNames = [
        "web", "api", "worker", "redis", "postgres", "nginx", "cache", "queue", "scheduler", "metrics", "auth", "search",
        "frontend", "backend", "ingest", "billing", "mailer", "proxy",
    ]
    static let imageRepositories = [
        "nginx", "redis", "postgres", "python", "node", "alpine", "ubuntu", "busybox", "haproxy", "memcached",
        "deepfenceio/deepfence_agent_ce", "library/httpd", "grafana/grafana", "prom/prometheus", "envoyproxy/envoy",
        "rabbitmq", "elasticsearch", "mongo", "mysql", "traefik",
    ]
    static let tags = ["latest", "1.25", "7.2", "15", "3.12", "20-alpine", "stable", "v2.5.6"]
    static let namespaceNames = ["default", "kube-system", "monitoring", "ingress", "payments", "search", "web", "data", "ci", "logging"]
}
