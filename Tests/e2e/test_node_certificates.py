"""A joining node's certificates from the real `skiff server`: the endpoint takes the join
token's secret and a CSR per key made on the node (openssl here), and the client
certificate it returns authenticates the node to the API. The full `skiff agent` join is
tested where the agent command is built."""

import json
import os
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

from conftest import Server


def csr(directory, name, node):
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    out = subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", f"/O=system:nodes/CN=system:node:{node}"],
                         check=True, capture_output=True, text=True).stdout
    return key, out


def post(server, ca_file, secret, body):
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = False
    req = urllib.request.Request(f"{server.url}/v1-skiff/node-certificates", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_node_gets_certificates_with_the_join_token():
    server = Server().start()
    work = tempfile.mkdtemp(prefix="skiff-e2e-node-")
    try:
        token = open(os.path.join(server.data_dir, "token")).read().strip()
        secret = token.split("::", 1)[1].split(":", 1)[1]
        ca_file = os.path.join(server.data_dir, "tls", "ca.crt")
        client_key, client_csr = csr(work, "client", "e2e-node")
        _, serving_csr = csr(work, "serving", "e2e-node")
        body = {"nodeName": "e2e-node", "addresses": ["127.0.0.1"], "clientCSR": client_csr, "servingCSR": serving_csr}

        status, answer = post(server, ca_file, "wrong", body)
        assert status == 401 and answer["kind"] == "Status" and answer["reason"] == "Unauthorized"
        status, answer = post(server, ca_file, secret, dict(body, nodeName="Bad_Name"))
        assert status == 400 and answer["reason"] == "BadRequest"

        status, answer = post(server, ca_file, secret, body)
        assert status == 200, answer
        cert = os.path.join(work, "client.crt")
        with open(cert, "w") as f:
            f.write(answer["clientCertificate"])
        subject = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject"], check=True, capture_output=True, text=True).stdout
        assert "system:nodes" in subject and "system:node:e2e-node" in subject
        serving = os.path.join(work, "serving.crt")
        with open(serving, "w") as f:
            f.write(answer["servingCertificate"])
        sans = subprocess.run(["openssl", "x509", "-in", serving, "-noout", "-ext", "subjectAltName"],
                              check=True, capture_output=True, text=True).stdout
        assert "DNS:e2e-node" in sans and "IP Address:127.0.0.1" in sans

        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = False
        ctx.load_cert_chain(cert, client_key)
        with urllib.request.urlopen(f"{server.url}/api/v1/nodes", context=ctx, timeout=10) as r:
            assert r.status == 200
    finally:
        server.cleanup()
        subprocess.run(["rm", "-rf", work], check=False)
