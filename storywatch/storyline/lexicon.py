"""General trigger terms per development type, modality cues and context cues.

Everything here is storyline-independent news language: how wire copy says that a meeting was
held, a truce declared, a deal signed or a plan put forward. Storyline specifics (actors,
places, theatre) come from the seed. Patterns run on lower-cased text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def alternation(words: Iterable[str]) -> str:
    """A non-capturing regex alternation of the given (regex) terms."""
    return "(?:" + "|".join(words) + ")"


# --- development triggers ---------------------------------------------------------------
# Each entry: (type, pattern). A "gated" trigger only counts when the sentence also shows that
# something concrete happened (see GATES in extract.py): "peace talks" as a topic is no meeting.

_TALK_NOUN = r"\b(?:talks|negotiations|consultations|discussions?)\b"

MEETING_TRIGGERS = (
    r"\bmet\b",
    r"\bmeets\b",
    r"\bmeet(?:ing)? (?:with|in|at)\b",
    r"\b(?:to|will|would|could|agreed to|plans? to|expected to|due to|set to) meet\b",
    r"\bmeetings?\b",
    r"\bspoke\b(?= (?:for|on|by|at length|twice|again))",
    r"\bsummit\b",
    r"\b(?:tele)?phone (?:call|conversation|talks?)\b",
    r"\bcalls? (?:with|between)\b",
    r"\bconversation with\b",
    r"\b(?:spoke|speak|speaks|talked|talk) (?:with|to) (?!reporters|journalists|the press)",
    r"\bspoke by phone\b",
    r"\b(?:held|hold|holds|holding) (?:a )?(?:call|talks|a meeting|meetings|negotiations)\b",
    r"\bsat down with\b",
    r"\bround of (?:talks|negotiations)\b",
    r"\bsidelines\b",
)
# Talk nouns count as a meeting only with a place, a day, a duration or an event verb nearby.
GATED_MEETING_TRIGGERS = (_TALK_NOUN,)
# Encounters count as a meeting only when the sentence names two sides (visitor and host):
# "Putin visits a command post" is no meeting, "Macron visits Trump" is.
ENCOUNTER_TRIGGERS = (
    r"\bvisit(?:s|ed|ing)?\b",
    r"\bhost(?:s|ed|ing)?\b",
    r"\bdelegations?\b",
    r"\bwelcom(?:ed|es)\b",
)

_HOSTILITIES = r"(?:strikes|attacks|fighting|hostilities|combat(?: operations)?|firing|shelling)"
CEASEFIRE_TRIGGERS = (
    r"\bcease-?fire\b",
    r"\btruces?\b",
    r"\barmistice\b",
    r"\b(?:halt|pause|moratorium|freeze|stop|end|ban)(?:s|ped|ed)? (?:on|to|of|in) "
    r"(?:[\w.'-]+ ){0,3}" + _HOSTILITIES + r"\b",
    r"\b(?:agree|order|pledge|promise)(?:s|d|ed|ing)? (?:[\w.'-]+ ){0,3}to "
    r"(?:halt|pause|stop|end|cease) (?:[\w.'-]+ ){0,3}" + _HOSTILITIES + r"\b",
    r"\b" + _HOSTILITIES + r" (?:[\w.'-]+ ){0,3}(?:were |was )?(?:halted|paused)\b",
    r"\brefrain(?:s|ed)? from (?:the use of |using )?force\b",
)

CONCESSION_TRIGGERS = (
    r"\baccept(?:s|ed|ing)? (?:[\w.'-]+ ){0,4}(?:proposal|plan|ceasefire|cease-fire|truce|terms|"
    r"demands?|offer|conditions|framework|deal)\b",
    r"\bagree(?:s|d)? (?:in \w+ )?to (?:a |an |the )?(?:[\w-]+ ){0,3}(?:proposal|plan|offer|truce|"
    r"ceasefire|cease-fire)\b",
    r"\bagree(?:s|d)? (?:[\w.'-]+ ){0,3}to (?:halt|stop|pause|join|accept|drop|withdraw|give up|"
    r"cede|recogni[sz]e|freeze|end|suspend|hand over|release)\b",
    r"\bagree(?:s|d)? (?:[\w.'-]+ ){0,3}that \w+ would (?:join|halt|stop|pause|accept)\b",
    r"\bready to accept\b",
    r"\bdrop(?:s|ped)? (?:its |their |a |the )?(?:[\w.'-]+ )?demands?\b",
    r"\bback(?:s|ed)? down\b",
    r"\bconcessions?\b",
    r"\bwould join the (?:[\w.'-]+ ){0,2}(?:halt|pause|ceasefire|truce)\b",
    r"\bagrees? to (?:a )?(?:\d+-day |\w+ )?(?:halt|pause)\b",
)

AGREEMENT_NOUN = r"(?:deals?|agreements?|accords?|pacts?|memorandum|treaty|arrangements?)"
AGREEMENT_TRIGGERS = (
    r"\b(?:sign|signs|signed|signing|seal|seals|sealed|ink|inked|clinch|clinched|struck|strike|"
    r"reach|reached|conclude|concluded|finali[sz]ed?|ratif(?:y|ied)|brokered|announces|announced)"
    r" (?:[\w-]+ ){0,5}" + AGREEMENT_NOUN + r"\b",
    r"\b" + AGREEMENT_NOUN + r" (?:[\w.'-]+ ){0,4}(?:was |were |is |has been )?"
    r"(?:signed|sealed|reached|agreed|concluded|struck|brokered)\b",
    r"\b(?:us|u\.s\.|\w+)-brokered\b",
    r"\bagree(?:s|d)? (?:[\w.'-]+ ){0,6}to (?:restore|establish|set up|create|form|appoint|open|"
    r"guarantee|work on|cooperate|resume (?:flights|embassy|diplomatic)|return their)\b",
    r"\b(?:sides|delegations|countries|leaders|ministers|two) (?:[\w.'-]+ ){0,2}"
    r"agreed (?:on|that)\b",
)

PROPOSAL_NOUN = (
    r"(?:peace plan|plans?|proposals?|framework|road ?map|blueprint|initiative|offer|terms|"
    r"\d+-point plan|draft)"
)
PROPOSAL_TRIGGERS = (
    r"\b(?:propos(?:e|es|ed|ing)|put(?:s|ting)? forward|unveil(?:s|ed|ing)?|"
    r"present(?:s|ed|ing)?|(?:laid|lays|lay|set|sets|setting) out|float(?:s|ed|ing)?|"
    r"submit(?:s|ted|ting)?|tabled?|outlined?|drew up|drafted) (?:[\w.'-]+ ){0,4}"
    + PROPOSAL_NOUN
    + r"\b",
    r"\b" + PROPOSAL_NOUN + r" (?:[\w.'-]+ ){0,3}(?:presented|unveiled|proposed|put forward|"
    r"drawn up|drafted|laid out|set out)\b",
    r"\bpeace plan\b",
    r"\b\d+-point (?:peace )?plan\b",
    r"\bplan (?:would|to (?:end|stop|halt)|for ending|for peace)\b",
)

# A bare prisoner noun is a development only beside a swap or release ("executing captured
# soldiers" or "prisoners of war held in camps" is not one).
_HANDOVER = r"(?:swap|exchang|releas|free|return|repatriat|hand(?:ed|s|ing)? over|transfer)\w*"
_CAPTIVE = r"(?:prisoners?|pows?|prisoners? of war|detainees?|captives)"
PRISONER_TRIGGERS = (
    r"\b" + _HANDOVER + r"\b[^.;]{0,80}?\b" + _CAPTIVE + r"\b",
    r"\b" + _CAPTIVE + r"\b(?=[^.;]{0,80}\b" + _HANDOVER + r"\b)",
    r"\b(?:prisoner|pow|captive|detainee|body|bodies)[- ]swaps?\b",
    r"\bswap(?:s|ped|ping)?\b(?![^.]{0,40}\b(?:territor|land|debt|currency|asset))"
    r"(?=[^.]{0,80}\b(?:prisoners?|pows?|captives?|detainees?|soldiers|servicemen|bodies|"
    r"citizens?|nationals?|freed|released|\d+))",
    r"\b(?:exchange|exchanged|exchanges) (?:of )?(?:\d+ )?(?:prisoners|detainees|captives|"
    r"bodies|servicemen|soldiers)\b",
    r"\b(?:freed|released|frees|releases|return(?:ed|s)? home)\b(?=[^.]{0,100}\b(?:exchange|"
    r"swap|prison|jail|custody|sentence|soldiers|servicemen|defenders|detain))",
    r"\b(?:bodies) (?:of \w+ )?(?:[\w.'-]+ ){0,2}(?:returned|repatriated|handed over)\b",
)

SANCTIONS_TRIGGERS = (
    r"\bsanction(?:s|ed|ing)?\b",
    r"\bsecondary (?:tariffs|sanctions)\b",
    r"\btariffs? on (?:[\w.'-]+ ){0,3}(?:buyers|purchasers|importers) of\b",
    r"\bembargo\b",
    r"\bblacklist(?:s|ed)?\b",
    r"\bprice cap\b",
    r"\bswift\b",
    r"\b(?:restrictions|curbs) on (?:[\w.'-]+ ){0,4}(?:banks?|lender|exports?|imports?|oil|gas|"
    r"shipping)\b",
    r"\basset freeze\b|\bfrozen (?:russian )?assets\b",
    r"\bexport controls\b",
)

AID_TRIGGERS = (
    r"\b(?:military|security|financial|economic|defen[cs]e|weapons|arms) (?:aid|assistance|"
    r"support|package|supplies|deliveries|shipments)\b",
    r"\baid (?:package|to ukraine|deliveries)\b",
    r"\b(?:military )?aid\b(?= (?:to|for) )",
    r"\bintelligence[- ]sharing\b|\bsharing (?:of )?intelligence\b|\bintelligence (?:support|"
    r"and weapons)\b",
    r"\bweapons? (?:deliveries|shipments|supplies|package)\b",
    r"\bair[- ]defen[cs]e (?:systems?|missiles?)\b",
    r"\bpatriot (?:systems?|batteries|missiles?)\b",
    r"\b(?:pledged?|pledges|pledging|approve[sd]?|announce[sd]?) (?:[\w.'-]+ ){0,4}"
    r"(?:£|\$|€|us\$)?\d[\d.,]*\s?(?:bn|billion|m|million)\b",
    r"\b(?:£|\$|€)\d[\d.,]*\s?(?:bn|billion|m|million) (?:in |of )?(?:[\w.'-]+ ){0,2}"
    r"(?:aid|finance|funding|loans?|assistance|support)\b",
    r"\b(?:paused?|pausing|halt(?:s|ed)?|suspend(?:s|ed)?|freez(?:e|es)|froze|resum(?:e|es|ed)|"
    r"restor(?:e|es|ed)|restart(?:s|ed)?|lift(?:s|ed)?) (?:[\w.'-]+ ){0,4}(?:aid|assistance|"
    r"intelligence|weapons|deliveries|shipments|support)\b",
)

TYPE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "meeting": MEETING_TRIGGERS,
    "concession": CONCESSION_TRIGGERS,
    "ceasefire": CEASEFIRE_TRIGGERS,
    "agreement": AGREEMENT_TRIGGERS,
    "proposal": PROPOSAL_TRIGGERS,
    "prisoner_exchange": PRISONER_TRIGGERS,
    "sanctions": SANCTIONS_TRIGGERS,
    "aid": AID_TRIGGERS,
}
GATED_TRIGGERS: dict[str, tuple[str, ...]] = {"meeting": GATED_MEETING_TRIGGERS}

# Evidence that a talk noun names an actual round of talks, not the topic "peace talks".
TALK_GATE = re.compile(
    r"\b(?:held|hold|holds|holding|met|host(?:s|ed)?|began|begin|begins|start(?:s|ed)?|open(?:s|ed)|"
    r"resum(?:e|es|ed)|ended|end|concluded|attend(?:s|ed)?|join(?:s|ed)?|kick(?:s|ed)? off|"
    r"arriv(?:e|es|ed)|lasted|hours|round|session|first|technical|direct|face-to-face|"
    r"participat\w+|took part|take part|lasting|lead|led|leading|head|heads|headed|"
    r"closed-door|agreed to|to meet|will|due|set for|planned|scheduled|next week|this week)\b"
)

# Talk nouns in a purpose/prospect phrase: "push Kyiv toward peace talks" is no meeting.
PROSPECT_TALKS = re.compile(
    r"\b(?:toward|towards|push(?:es|ed|ing)? for|pave the way for|lay the groundwork for|"
    r"path to|prospects? (?:of|for)|hopes? (?:of|for)|possibility of|chance of|"
    r"calls? for|urg(?:e|es|ed|ing)|ahead of|before|progress in|effort)\b[^.;]{0,40}"
    r"\b(?:talks|negotiations)\b"
)

# --- context that cancels a trigger -----------------------------------------------------
# A trigger right after these words is the topic of talk or a wish, not a development:
# "discussed a full ceasefire", "warned against a ceasefire", "any peace deal".
TOPIC_BEFORE = re.compile(
    r"(?:\bdiscuss(?:ed|es|ing)?|\bcovered|\btalked about|\babout|\bwarn(?:ed|s|ing)? against|"
    r"\bpush(?:es|ed|ing)? for|\bcall(?:s|ed|ing)? for|\burg(?:e|es|ed|ing)|\bwants?|\bwanted|"
    r"\bseek(?:s|ing)?|\bsought|\bwithout|\bframework for|\bprospects? (?:of|for)|"
    r"\bpossibility of|\bpossible|\bpotential|\bfuture|\bany|\bno sign|\bhopes? (?:of|for)|"
    r"\baim(?:s|ed)? to (?:conclude|reach|sign)|\bcould open the way to|\bbroader|"
    r"\beventual|\blasting|\bdurable|\bpermanent|\bjust|\bfinal|\bcomprehensive|"
    r"\bbehind its back|\bquestions? (?:about|over|on)|\bbroker|\bending the war|"
    r"\btalks (?:on|about|over)|\bnegotiations (?:on|about|over)|\bpossibilities for|"
    r"\blikely|\bprobabl[ey]|\bplan to|\bending|\ban end to|\bdemand(?:s|ed)?|\bif\b|"
    r"\b(?:aim|hope|seek|intend|want|plan|attempt|tr(?:y|ies|ied|ying))(?:s|ed|ing)? to|"
    r"\bfocus(?:ed|es|ing)? on|\bcould|\bmight)"
    r"(?P<gap>[\w' ,-]{0,40})$"
)
# Words that end the reach of a topic cue: "laid out proposals for ending the war during a day
# of meetings" still reports meetings.
TOPIC_BREAKERS = re.compile(r"\b(?:during|while|then|and on|at a|in a|before|after)\b")

# Stance and hypothesis: rhetoric, positions, analysis and what could be, not events.
STANCE = re.compile(
    r"\b(?:would never|will never|must|should|needs? to|insists?|demands? that|"
    r"it is (?:time|unrealistic)|unrealistic|we all want|hopes? that)\b"
)

# --- modality cues ------------------------------------------------------------------------
MODALITY_CUES: dict[str, re.Pattern[str]] = {
    "cancelled": re.compile(
        r"\b(?:cancel(?:l?ed|s|ling)?|called off|call off|postpone[ds]?|scrap(?:ped|s)?|"
        r"collaps(?:ed|es)|pull(?:ed|s)? out|withdr(?:ew|aws|awn)|left unsigned|unsigned|"
        r"not signed|fell through|scaled back|downgraded|shelved|delayed indefinitely)\b"
    ),
    "refused": re.compile(
        r"\b(?:reject(?:s|ed|ing)?|refus(?:e|ed|es|al|ing)|rule[sd]? out|"
        # "declined to say" is no refusal of anything
        r"declin(?:e|ed|es)(?! to (?:say|comment|confirm|disclose|elaborate|specify|name|"
        r"answer|discuss|give details))|"
        r"turn(?:ed|s)? down|rebuff(?:ed|s)?|dismiss(?:ed|es)|did not accept|not accept|"
        r"would not accept|won't accept|never (?:accept|recogni[sz]e|give))\b"
    ),
    "planned": re.compile(
        r"\b(?:will|'ll|to meet|is to|are to|due to|due in|set to|expected to|scheduled|"
        r"expect(?:s|ed)? (?:[\w.'-]+ ){1,5}to (?:attend|join|come|meet|take part|travel)|"
        r"awaits?|awaiting|"
        r"planned|plans? to|would (?:begin|start|meet|take place|be held|travel|visit)|"
        r"next week|this week|later this week|in the coming days|upcoming|heading to|"
        r"headed to|heads? to|to travel|to visit|agreed to meet|invited|would probably|probably|"
        r"set for|soon|to begin|to start|to resume|ahead of|likely|would|to hold|to sign)\b"
    ),
    "proposed": re.compile(
        r"\b(?:propos(?:e|ed|es|al|als)|offer(?:ed|s)?|suggest(?:ed|s)?|float(?:ed|s)?|"
        r"put forward|called for|calls for|urged|framework|peace plan)\b"
    ),
}
# Order of precedence when several cues apply to one clause.
MODALITY_ORDER = ("cancelled", "refused", "planned", "proposed")

# Words showing a past event even when a planning word is present ("held talks ... would meet").
HELD_CUES = re.compile(
    r"\b(?:met|held|signed|sealed|agreed|spoke|talked|freed|released|exchanged|swapped|"
    r"adopted|imposed|announced|declared|ordered|paused|halted|suspended|resumed|"
    r"hosted|visited|returned|ended|took part|took place|accepted|backed|lasted|handed|"
    r"meets|holds|signs|accepts|agrees|agree on|backs|frees|releases|swaps|announces|declares|"
    r"pauses|halts|suspends|resumes|restores|adopts|imposes|hosts|visits)\b"
)

# --- topic and theatre ----------------------------------------------------------------------
# Generic war-and-diplomacy vocabulary: supports relevance when a storyline party is named.
WAR_TOPIC = re.compile(
    r"\b(?:war|invasion|invaded|ceasefire|cease-fire|truce|peace|talks|negotiat\w+|"
    r"front ?line|troops|soldiers|army|military|missiles?|drones?|strikes?|shelling|"
    r"offensive|counteroffensive|occupied|annex\w*|sanctions|security guarantees|"
    r"prisoners?|swap|envoy|summit|settlement|conflict|air defen[cs]e|weapons|"
    r"aid|mobili[sz]ation|killed|wounded|attack\w*|minerals?)\b"
)

# Relative-day words and how many days they shift the report date.
RELATIVE_DAYS = {
    "later this week": 2,
    "this week": 2,
    "in the coming days": 3,
    "yesterday": -1,
    "a day earlier": -1,
    "the day before": -1,
    "last week": -7,
    "earlier this week": -3,
    "today": 0,
    "tomorrow": 1,
    "next week": 7,
}

# What an aid or sanctions development is about: pausing intelligence sharing is not pausing
# weapons deliveries. Words taken from the matched trigger terms.
OBJECT_WORDS = frozenset(
    {
        "intelligence",
        "weapons",
        "military",
        "financial",
        "economic",
        "humanitarian",
        "arms",
        "oil",
        "gas",
        "banks",
        "bank",
        "lender",
        "swift",
        "shipping",
        "exports",
        "imports",
        "assets",
        "defence",
        "defense",
        "security",
    }
)
