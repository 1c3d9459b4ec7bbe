import json, collections, os, re
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = json.load(open(f"{ROOT}/labels.json"))["items"]
I = json.load(open(f"{ROOT}/tools/_items_dump.json"))
DATES = {  # real-world date of each development
 "doha-deal-announced-2025-01-15": "2025-01-15", "deal-phase-one-terms": "2025-01-15",
 "ceasefire-start-set-for-jan19": "2025-01-15", "witkoff-mcgurk-doha-role": "2025-01-15",
}
ev = collections.defaultdict(list)
for x in I:
    e = L[x["link"]]
    if e["event"]: ev[e["event"]].append((x, e))
def edate(k):
    m = re.search(r"(\d{4}-\d{2}-\d{2})$", k); return DATES.get(k) or m.group(1)
rows = sorted(ev, key=lambda k: (edate(k), k))
DESC = {
 "doha-deal-announced-2025-01-15": "Qatar's PM announces the ceasefire-and-hostage deal in Doha (seed)",
 "deal-phase-one-terms": "Three phases; 42-day first phase, 33 hostages for hundreds of prisoners, aid surge (seed)",
 "ceasefire-start-set-for-jan19": "Truce set to begin Sunday 19 Jan (seed)",
 "witkoff-mcgurk-doha-role": "Witkoff alongside Biden's envoy McGurk in the final Doha round (seed)",
 "israel-cabinet-approves-deal-2025-01-18": "Security cabinet (17 Jan) and full government (early 18 Jan) approve the deal",
 "ceasefire-begins-2025-01-19": "Truce takes effect ~3 h late; Gonen, Damari, Steinbrecher freed; 90 prisoners freed overnight",
 "second-release-2025-01-25": "Four female soldiers freed; 200 prisoners released",
 "trump-gaza-takeover-proposal-2025-02-04": "Trump, with Netanyahu at the White House, proposes US takeover of Gaza and moving its people",
 "hamas-pauses-releases-2025-02-10": "Hamas postpones the next release citing Israeli violations",
 "bibas-bodies-returned-2025-02-20": "Four bodies handed over in Khan Younis (Bibas children, Oded Lifshitz)",
 "israel-halts-aid-2025-03-02": "Israel stops all goods entering Gaza as phase one expires",
 "witkoff-ramadan-extension-2025-03-02": "Israel backs Witkoff plan to extend phase one through Ramadan/Passover",
 "arab-league-reconstruction-plan-2025-03-04": "Cairo Arab League summit adopts Egypt's ~$53bn reconstruction plan",
 "us-hamas-direct-talks-2025-03-05": "White House confirms Adam Boehler's direct talks with Hamas in Doha",
 "witkoff-bridge-proposal-2025-03-12": "Witkoff presents a 'bridge' proposal in Doha to extend the truce",
 "hamas-offers-alexander-2025-03-14": "Hamas offers to free Edan Alexander and four bodies",
 "israel-resumes-strikes-2025-03-18": "Israel resumes massive strikes; the ceasefire collapses",
 "edan-alexander-released-2025-05-12": "Edan Alexander freed after US-Hamas contacts",
 "ghf-aid-begins-2025-05-26": "Gaza Humanitarian Foundation starts distributions in the Rafah area",
 "witkoff-60-day-proposal-2025-05-29": "White House says Israel signed off on Witkoff's 60-day truce plan",
 "hamas-response-witkoff-2025-05-31": "Hamas replies with amendments; Witkoff calls it unacceptable",
 "doha-proximity-talks-2025-07-06": "Indirect Israel-Hamas talks open in Doha",
 "netanyahu-trump-meeting-2025-07-07": "Netanyahu meets Trump at the White House",
 "gaza-city-takeover-approved-2025-08-08": "Israeli security cabinet approves plan to take over Gaza City (with European reactions, German arms-export halt)",
 "hamas-accepts-mediators-proposal-2025-08-18": "Hamas accepts the Egyptian-Qatari 60-day truce proposal",
 "israel-strikes-doha-2025-09-09": "Israeli strike on Hamas leaders in Doha",
 "trump-20-point-plan-2025-09-29": "Trump unveils the 20-point plan with Netanyahu at the White House",
 "netanyahu-apologises-qatar-2025-09-29": "Netanyahu apologises to Qatar's PM by phone from the White House",
 "hamas-accepts-hostage-release-2025-10-03": "Hamas agrees to release all hostages under the plan, seeks talks on the rest",
 "sharm-talks-announced-2025-10-04": "Egypt announces talks in Sharm el-Sheikh from Monday 6 Oct",
 "first-phase-agreed-2025-10-08": "Trump announces both sides signed off on the first phase; Qatar confirms",
 "israel-cabinet-approves-oct-deal-2025-10-10": "Israeli government ratifies the first phase (early 10 Oct)",
 "ceasefire-takes-effect-2025-10-10": "Ceasefire takes effect at noon; troops pull back to the agreed line",
 "living-hostages-freed-2025-10-13": "All 20 living hostages freed; ~1,950 prisoners and detainees released",
 "sharm-summit-2025-10-13": "Sharm el-Sheikh summit; US, Egypt, Qatar, Turkey sign a declaration",
 "rafah-stays-closed-2025-10-18": "Netanyahu keeps Rafah crossing closed pending return of bodies",
 "rafah-flareup-2025-10-19": "Strikes after two soldiers killed in Rafah; Israel says it resumes enforcing the truce",
 "unsc-endorses-plan-2025-11-17": "UNSC resolution 2803 endorses the plan, Board of Peace and stabilisation force (13-0-2)",
}
out = ["# EVENTS — gaza-ceasefire-talks", "",
       "Every event key in labels.json, with the real-world date of the development, what it is, and how many items carry it.", "",
       "| event key | date | novelty | development | items | outlets | syndicated copies |", "|---|---|---|---|---|---|---|"]
for k in rows:
    v = ev[k]; nov = v[0][1]["novelty"]
    out.append(f"| `{k}` | {edate(k)} | {nov} | {DESC[k]} | {len(v)} | {len({x['o'] for x,_ in v})} | {sum(1 for _,e in v if 'syndicated_of' in e)} |")
# counts
feeds = sorted({x["o"] for x in I})
out += ["", "## Counts", "", "| feed | items | relevant | new | known | none-relevant | irrelevant | syndicated copies |", "|---|---|---|---|---|---|---|---|"]
tot = collections.Counter()
for f in feeds + ["**all**"]:
    xs = [L[x["link"]] for x in I if f == "**all**" or x["o"] == f]
    r = [sum(e["relevant"] for e in xs), sum(e["novelty"]=="new" for e in xs), sum(e["novelty"]=="known" for e in xs),
         sum(e["relevant"] and e["novelty"]=="none" for e in xs), sum(not e["relevant"] for e in xs), sum("syndicated_of" in e for e in xs)]
    out.append(f"| {f if f.startswith('*') else '`'+f+'`'} | {len(xs)} | " + " | ".join(map(str, r)) + " |")
newk = {k for k in ev if ev[k][0][1]["novelty"]=="new"}; knk = {k for k in ev if ev[k][0][1]["novelty"]=="known"}
allL = list(L.values())
tn = collections.Counter(t for e in allL if e["novelty"]=="new" for t in e["types"])
ta = collections.Counter(t for e in allL for t in e["types"])
notype = sum(1 for e in allL if e["novelty"]=="new" and not e["types"])
multi = sum(1 for k in newk if len({x['o'] for x,_ in ev[k]}) > 1)
days = sorted({x["dt"][:10] for x in I})
hard = sum(1 for x in I if x["lab"] == "XH")
out += ["", f"{len(newk)} new-development events ({sum(len(ev[k]) for k in newk)} items) and {len(knk)} seed events "
        f"({sum(len(ev[k]) for k in knk)} known items). {multi} new events appear in more than one feed. "
        f"Irrelevant items: {sum(not e['relevant'] for e in allL)}, of which {hard} hard negatives.",
        "", "Types (items carrying each; all labels / new only): " + ", ".join(f"{t} {ta[t]} / {tn[t]}" for t,_ in ta.most_common()) +
        f". {notype} new items carry no type (Gaza City takeover decision, Doha strike).",
        "", f"{len(days)} distinct publication days: " + ", ".join(d[5:] for d in days) + " (2025)."]
open(f"{ROOT}/EVENTS.md", "w").write("\n".join(out) + "\n")
print("\n".join(out[-12:]))
