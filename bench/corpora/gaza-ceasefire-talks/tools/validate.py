import glob, json, sys, collections, re, os
import xml.etree.ElementTree as ET
import feedparser
from email.utils import parsedate_to_datetime
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = json.load(open(f"{ROOT}/labels.json")); labels = L["items"]
assert L["storyline"] == "gaza-ceasefire-talks"
TYPES = {"meeting","concession","ceasefire","agreement","proposal","prisoner_exchange","sanctions","aid"}
links = []; guids = set(); err = []; itembylink = {}
for f in sorted(glob.glob(f"{ROOT}/feeds/*.xml")):
    ET.parse(f)
    fp = feedparser.parse(f)
    if fp.bozo: err.append(f"{f}: feedparser bozo {fp.bozo_exception}")
    ch = ET.parse(f).getroot().find("channel")
    for t in ("title","link","description"): assert ch.find(t) is not None and ch.find(t).text
    dom = re.match(r"https://([^/]+)/", ch.find("link").text).group(1)
    prev = None
    for it in ch.findall("item"):
        for t in ("title","link","guid","pubDate","description"):
            if it.find(t) is None or not (it.find(t).text or "").strip(): err.append(f"{f}: missing {t}")
        g = it.find("guid"); assert g.get("isPermaLink") == "false"
        if g.text in guids: err.append("dup guid "+g.text)
        guids.add(g.text)
        l = it.find("link").text
        if not l.startswith(f"https://{dom}/"): err.append("domain "+l)
        d = parsedate_to_datetime(it.find("pubDate").text)
        if prev and d > prev: err.append(f"{f}: not newest first at {l}")
        prev = d
        if not (d.year == 2025 and (1, 16) <= (d.month, d.day) <= (11, 30)): err.append("date range "+l)
        links.append(l); itembylink[l] = (f, d, it.find("title").text)
    if len(fp.entries) != len(ch.findall("item")): err.append(f"{f}: feedparser count mismatch")
c = collections.Counter(links)
err += [f"dup link {l}" for l, n in c.items() if n > 1]
err += [f"no label {l}" for l in links if l not in labels]
err += [f"label without item {l}" for l in labels if l not in c]
ev_nov = collections.defaultdict(set)
for l, e in labels.items():
    if set(e) - {"relevant","types","novelty","event","syndicated_of"}: err.append("keys "+l)
    if not set(e["types"]) <= TYPES: err.append("types "+l)
    if e["novelty"] not in ("new","known","none"): err.append("novelty "+l)
    if e["novelty"] == "none" and (e["event"] or e["types"]): err.append("none with event/types "+l)
    if e["novelty"] != "none" and (not e["event"] or not e["relevant"]): err.append("dev without event "+l)
    if not e["relevant"] and e["novelty"] != "none": err.append("irrelevant dev "+l)
    if e["event"]: ev_nov[e["event"]].add(e["novelty"])
    s = e.get("syndicated_of")
    if s:
        if s not in labels: err.append("synd target missing "+l)
        else:
            o = labels[s]
            if (o["novelty"], o["event"], o["relevant"]) != (e["novelty"], e["event"], e["relevant"]): err.append("synd label mismatch "+l)
            if itembylink[s][0] == itembylink[l][0] or itembylink[s][1] >= itembylink[l][1]: err.append("synd not later/other feed "+l)
err += [f"event {k} has mixed novelty {v}" for k, v in ev_nov.items() if len(v) > 1]
# event key date suffix sanity: items not before the event date
for l, e in labels.items():
    m = re.search(r"(\d{4}-\d{2}-\d{2})$", e["event"])
    if m and itembylink[l][1].date().isoformat() < m.group(1): err.append(f"item before its event date {l}")
print(len(links), "items,", len(labels), "labels,", len(glob.glob(f"{ROOT}/feeds/*.xml")), "feeds")
print("\n".join(err) if err else "OK: no errors")
sys.exit(1 if err else 0)
