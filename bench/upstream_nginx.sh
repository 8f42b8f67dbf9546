# Sourced by the bench scripts: `upstream_nginx_conf DIR PORT` writes DIR/nginx.conf for a
# one-worker nginx on 127.0.0.1:PORT that answers every request with "hello\n" (the upstream
# the gateway proxies to), its temp paths and logs under DIR.
upstream_nginx_conf() {
    local dir=$1 port=$2
    cat > "$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $PWD/$dir/nginx.pid;
error_log $PWD/$dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $PWD/$dir/body;
    proxy_temp_path $PWD/$dir/proxy;
    fastcgi_temp_path $PWD/$dir/fastcgi;
    uwsgi_temp_path $PWD/$dir/uwsgi;
    scgi_temp_path $PWD/$dir/scgi;
    server { listen 127.0.0.1:$port; location / { return 200 "hello\n"; } }
}
CONF
}
