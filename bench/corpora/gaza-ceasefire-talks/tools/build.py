import sys, json, re, os, collections
from datetime import datetime, timezone
from email.utils import format_datetime
import xml.etree.ElementTree as ET
sys.path.insert(0, os.path.dirname(__file__))
from items import OUT, I
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def slugify(t, n=9):
    t = t.lower().replace("'", "").replace("\u2019", "")
    w = re.findall(r"[a-z0-9]+", t)
    stop = {"a","an","the","of","to","as","in","on","and","for","at","its","is","by","with","after"}
    ws = [x for x in w if x not in stop] or w
    return "-".join(ws[:n])

def mklink(o, d, sec, title, seq):
    s = slugify(title)
    y, m, dd = d.strftime("%Y"), d.strftime("%m"), d.strftime("%d")
    if o == "levant-wire":   return f"https://www.levantwire.com/{sec}/{y}{m}{dd}-{s}"
    if o == "harbor-times":  return f"https://www.harbortimes.com/{y}/{m}/{dd}/{sec}/{s}/"
    if o == "crescent-post": return f"https://www.crescentpost.net/{sec}/{y}/{m}/{dd}/{s}"
    if o == "jaffa-daily":   return f"https://www.jaffadaily.co.il/news/{sec}/{s}-{(int(y+m+dd)*7+seq)%900000+100000}"
    if o == "continental-bulletin": return f"https://www.continentalbulletin.eu/news/{y}/{m}/{dd}/{s}"
    if o == "prairie-gazette": return f"https://www.prairiegazette.com/news/{sec}/{s}_{(int(m+dd)*131+seq*17)%900000+100000}.html"
    raise ValueError(o)

seqs = collections.Counter()
refs = {}
for k, x in enumerate(I):
    d = datetime.strptime(x["dt"], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    x["d"] = d
    seqs[x["o"]] += 1
    x["link"] = mklink(x["o"], d, x["sec"], x["title"], k)
    x["guid"] = f'{x["o"]}-{d:%Y%m%d}-{k:03d}'
    if x["ref"]: refs[x["ref"]] = x["link"]

labels = {}
for x in I:
    lab = x["lab"]
    if lab.startswith(("N:", "K:")):
        nov, ev, ty = lab.split(":")
        e = {"relevant": True, "types": [t for t in ty.split(",") if t], "novelty": "new" if nov == "N" else "known", "event": ev}
    elif lab == "R":
        e = {"relevant": True, "types": [], "novelty": "none", "event": ""}
    elif lab in ("X", "XH"):
        e = {"relevant": False, "types": [], "novelty": "none", "event": ""}
    else: raise ValueError(lab)
    if x["synd"]: e["syndicated_of"] = refs[x["synd"]]
    assert x["link"] not in labels, x["link"]
    labels[x["link"]] = e

os.makedirs(f"{ROOT}/feeds", exist_ok=True)
for o, (title, link, desc) in OUT.items():
    its = sorted([x for x in I if x["o"] == o], key=lambda x: x["d"], reverse=True)
    rss = ET.Element("rss", version="2.0")
    ch = ET.SubElement(rss, "channel")
    ET.SubElement(ch, "title").text = title
    ET.SubElement(ch, "link").text = link
    ET.SubElement(ch, "description").text = desc
    ET.SubElement(ch, "language").text = "en"
    ET.SubElement(ch, "lastBuildDate").text = format_datetime(its[0]["d"])
    for x in its:
        i = ET.SubElement(ch, "item")
        ET.SubElement(i, "title").text = x["title"]
        ET.SubElement(i, "link").text = x["link"]
        ET.SubElement(i, "guid", isPermaLink="false").text = x["guid"]
        ET.SubElement(i, "pubDate").text = format_datetime(x["d"])
        ET.SubElement(i, "description").text = x["desc"]
        ET.SubElement(i, "category").text = x["sec"].replace("-", " ").title()
    ET.indent(rss, space="  ")
    ET.ElementTree(rss).write(f"{ROOT}/feeds/{o}.xml", encoding="utf-8", xml_declaration=True)

json.dump({"storyline": "gaza-ceasefire-talks", "items": labels}, open(f"{ROOT}/labels.json", "w"), indent=2, ensure_ascii=False)
json.dump([{k: (v.isoformat() if k == "d" else v) for k, v in x.items()} for x in I], open(f"{ROOT}/tools/_items_dump.json", "w"), indent=1, default=str)

# stats
c = collections.Counter()
for x in I:
    l = x["lab"]; c["N" if l.startswith("N") else "K" if l.startswith("K") else l] += 1
print("items", len(I), dict(c), "days", len({x['d'].date() for x in I}))
for x in I:
    ns = len(re.findall(r"[.!?](\s|$)", x["desc"]))
    if ns < 2: print("SHORT", x["o"], x["dt"], x["title"])
