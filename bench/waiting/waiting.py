import json, sys, time, urllib.request
PORT = sys.argv[1]
now = int(time.time()*1000) << 16
def push(replica, changes):
    body = json.dumps({"replica": replica, "changes": changes}).encode()
    req = urllib.request.Request("http://127.0.0.1:" + PORT + "/v1/push", data=body, headers={"Content-Type": "application/json"})
    t = time.time()
    try:
        with urllib.request.urlopen(req) as r: r.read(); code = r.status
    except urllib.error.HTTPError as e: code = e.code; e.read()
    return code, time.time() - t
def ch(rep, c, ctx, rec):
    return {"author": rep, "context": ctx, "dot": f"{rep}:{c}", "field": {"element": "", "name": "title"}, "hlc": now + c,
            "record": {"id": rec, "kind": "case"}, "value": f"标题 {rep} {c}"}
planted = 0
for s in range(20):
    rep = f"att{s}"
    for b in range(2):
        code, t = push(rep, [ch(rep, b*5000 + i + 1, [f"ghost{s}:{b*5000+i+1}"], f"YQ-{s}-{b}-{i}") for i in range(5000)])
        if code == 200: planted += 5000
    code, t = push(rep, [ch(rep, 20001, ["ghost:1"], "YQ-x")])
print("planted waiting:", planted, "; 10,001st from one sender ->", code)
times = []
for i in range(50):
    code, t = push("good", [ch("good", i + 1, [], f"YQ-good-{i}")])
    assert code == 200
    times.append(t)
times.sort()
print("one-change push with %d waiting: p50 %.1f ms, max %.1f ms" % (planted, times[25]*1000, times[-1]*1000))
print(urllib.request.urlopen("http://127.0.0.1:" + PORT + "/v1/status").read().decode())
