# Item data for the gaza-ceasefire-talks corpus. Written in our own words.
# lab: "N:event:types" new, "K:event:types" known, "R" relevant/none, "X" irrelevant (hard negatives marked XH)
OUT = {
 "levant-wire": ("Levant Wire", "https://www.levantwire.com/", "International wire service: breaking news from the Middle East and the world."),
 "harbor-times": ("The Harbor Times", "https://www.harbortimes.com/", "National and world news from an American daily."),
 "crescent-post": ("Crescent Post", "https://www.crescentpost.net/", "News and analysis from the Arab world and the Gulf."),
 "jaffa-daily": ("Jaffa Daily", "https://www.jaffadaily.co.il/", "Israeli news in English: politics, security and society."),
 "continental-bulletin": ("Continental Bulletin", "https://www.continentalbulletin.eu/", "European public-service news: Europe and the world."),
 "prairie-gazette": ("Prairie Gazette", "https://www.prairiegazette.com/", "Regional daily with national and world news from the wires."),
}
I = []
def it(o, dt, sec, title, desc, lab, ref=None, synd=None):
    I.append(dict(o=o, dt=dt, sec=sec, title=title, desc=desc, lab=lab, ref=ref, synd=synd))

# ---------------- 16 Jan ----------------
it("levant-wire","2025-01-16 06:10","middle-east","Qatar announces Gaza ceasefire and hostage deal after marathon talks",
 "Qatar's prime minister said on Wednesday night that Israel and Hamas had agreed to a ceasefire in Gaza and an exchange of hostages for Palestinian prisoners. The truce is to begin on Sunday and unfold in three phases, the first lasting six weeks. Egypt and the United States joined Qatar in brokering the agreement.",
 "K:doha-deal-announced-2025-01-15:agreement,ceasefire,prisoner_exchange", ref="lw-deal")
it("crescent-post","2025-01-16 09:30","explainers","Six weeks, 33 captives, 600 trucks: the first stage of the Gaza truce explained",
 "The opening stage of the agreement announced in Doha runs for 42 days. Hamas is to free 33 hostages, beginning with women, children and older people, while Israel releases hundreds of Palestinian prisoners and pulls its forces back from populated areas. Aid deliveries are meant to reach about 600 trucks a day.",
 "K:deal-phase-one-terms:agreement,prisoner_exchange,aid")
it("jaffa-daily","2025-01-16 11:45","politics","Netanyahu's office says final details still open, delaying cabinet vote",
 "The prime minister's office accused Hamas on Thursday of going back on parts of the understandings reached in Doha and said ministers would not convene until the mediators confirmed the terms. Hamas said it remained committed to the deal. Hostage families urged the government not to let the agreement slip.",
 "R")
it("continental-bulletin","2025-01-16 12:20","news","Gaza truce set to begin on Sunday, mediators say",
 "The ceasefire between Israel and Hamas is scheduled to start on 19 January, according to the Qatari mediators who announced it. The first hostages are expected to be handed over that day. European leaders welcomed the deal and called for it to be implemented in full.",
 "K:ceasefire-start-set-for-jan19:ceasefire")
it("harbor-times","2025-01-16 13:05","world","Biden and Trump both claim credit for Gaza breakthrough",
 "The outgoing and incoming presidents each cast the agreement as their achievement, with Biden pointing to the framework he laid out last spring and Trump saying his victory had forced the pace. Aides on both teams said their envoys had worked side by side in the final days. Analysts said the pressure of the inauguration date had helped.",
 "R")
it("harbor-times","2025-01-16 15:40","world","Witkoff joined Biden's envoy in Doha for the final push",
 "Steve Witkoff, Trump's pick for Middle East envoy, sat in on the closing round of talks in Qatar alongside Brett McGurk, the Biden administration's negotiator, and flew to Israel to meet Netanyahu beforehand. The two teams coordinated closely on the text announced on Wednesday.",
 "K:witkoff-mcgurk-doha-role:meeting")
it("jaffa-daily","2025-01-16 16:30","security","What Israel gives and what it gets in the first phase",
 "Under the first stage, 33 hostages are due to come home over six weeks in exchange for several hundred Palestinian prisoners, among them some serving life terms. The army would pull back to a buffer zone along Gaza's edges. Later phases, covering soldiers and the end of the war, still have to be negotiated.",
 "K:deal-phase-one-terms:agreement,prisoner_exchange")
it("levant-wire","2025-01-16 17:55","middle-east","Strikes continue in Gaza hours after truce announcement",
 "Gaza's civil defence agency said Israeli air strikes killed dozens of people after the deal was announced, as residents celebrated in the streets of Deir al-Balah and Khan Younis. The Israeli military said it was striking militant targets. Health officials say more than 46,000 people have been killed since October 2023.",
 "R")
it("continental-bulletin","2025-01-16 18:10","news","Starmer in Kyiv signs 100-year partnership with Ukraine",
 "Britain's prime minister made his first visit to Kyiv since taking office and signed a century-long partnership agreement covering defence, energy and science. Russian drones were reported over the capital during the visit. Starmer said Britain would play its full part in any future security guarantees.",
 "XH")
it("prairie-gazette","2025-01-16 19:20","nation-world","Gaza truce deal reached; hostages to be freed in stages",
 "Qatar's prime minister said Israel and Hamas had agreed to a ceasefire in Gaza and an exchange of hostages for Palestinian prisoners. The truce is to begin on Sunday and unfold in three phases, the first lasting six weeks.",
 "K:doha-deal-announced-2025-01-15:agreement,ceasefire,prisoner_exchange", synd="lw-deal")
it("prairie-gazette","2025-01-16 20:00","nation-world","Firefighters gain ground on Los Angeles blazes as winds ease",
 "Crews made progress against the Palisades and Eaton fires as the strong Santa Ana winds that fanned them subsided. Officials warned that the fire danger would rise again later in the week. Thousands of homes have been destroyed.",
 "X")

# ---------------- 18 Jan ----------------
it("jaffa-daily","2025-01-18 01:40","politics","Government ratifies hostage deal after overnight session",
 "Israel's full cabinet approved the ceasefire and hostage agreement in the early hours of Saturday, hours after the security cabinet recommended it. Ministers from the far right voted against. The approval clears the way for the truce to begin on Sunday morning.",
 "N:israel-cabinet-approves-deal-2025-01-18:agreement")
it("levant-wire","2025-01-18 06:30","middle-east","Israel clears way for Sunday truce with cabinet approval",
 "The Israeli government voted to approve the Gaza agreement after a session that ran past midnight, following an earlier endorsement by the security cabinet on Friday. The justice ministry published a list of Palestinian prisoners due to be freed in the first exchange.",
 "N:israel-cabinet-approves-deal-2025-01-18:agreement")
it("harbor-times","2025-01-18 10:00","world","Ben-Gvir threatens to quit coalition over ceasefire",
 "The national security minister said his far-right party would leave the government if the agreement went ahead, calling it a surrender. His departure would not topple Netanyahu's coalition. Finance Minister Smotrich said he would stay for now but demanded that fighting resume after the first phase.",
 "R")
it("continental-bulletin","2025-01-18 11:30","news","Explainer: the three phases of the Gaza agreement",
 "The deal announced in Doha opens with a six-week truce in which 33 hostages are exchanged for Palestinian prisoners. A second phase would free the remaining living captives and end the war, and a third would cover bodies and rebuilding. Negotiations on phase two are meant to start during the first stage.",
 "K:deal-phase-one-terms:agreement,ceasefire,prisoner_exchange")
it("prairie-gazette","2025-01-18 14:10","nation-world","TikTok warns it will go dark in the U.S. on Sunday",
 "The video app said it would be forced to stop operating in the United States unless the Biden administration gave assurances it would not enforce a ban taking effect on 19 January. The Supreme Court upheld the law on Friday. Trump has said he will likely grant a reprieve.",
 "X")

# ---------------- 19 Jan ----------------
it("levant-wire","2025-01-19 10:05","middle-east","Gaza ceasefire takes hold after three-hour delay",
 "The truce between Israel and Hamas came into force late on Sunday morning, nearly three hours behind schedule, after Israel said it had not received the names of the first hostages to be freed. Israeli strikes during the delay killed several people in Gaza, according to local officials. Crowds began moving towards destroyed neighbourhoods.",
 "N:ceasefire-begins-2025-01-19:ceasefire", ref="lw-truce")
it("harbor-times","2025-01-19 17:20","world","Families embrace as three women come home",
 "Romi Gonen, Emily Damari and Doron Steinbrecher were handed to the Red Cross in Gaza City on Sunday and driven to Israeli forces, ending more than 15 months in captivity. Their mothers met them at a reception point near the border. Damari, a British-Israeli, had lost two fingers in the attack on her kibbutz.",
 "N:ceasefire-begins-2025-01-19:prisoner_exchange")
it("jaffa-daily","2025-01-19 14:00","politics","Ben-Gvir's party walks out as truce begins",
 "Otzma Yehudit's three ministers resigned on Sunday in protest at the ceasefire, leaving Netanyahu with a narrower majority. Ben-Gvir said he would consider returning if the war resumed. The prime minister's coalition still holds a majority in the Knesset.",
 "R")
it("crescent-post","2025-01-19 15:30","gaza","Displaced families set out for what is left of their homes",
 "Thousands of people walked or rode carts back into Rafah and Khan Younis as the guns fell silent, many finding nothing but rubble. Aid agencies said it would take years to clear the debris. Movement to the north of the Strip remains closed for now.",
 "R")
it("continental-bulletin","2025-01-19 23:50","news","First 90 Palestinian prisoners freed from Ofer as truce begins",
 "Buses carrying 90 Palestinian prisoners, most of them women and minors, left Israel's Ofer jail shortly after midnight and were greeted by crowds in the West Bank town of Beitunia. The release completed the first exchange of the ceasefire, hours after three Israeli women were freed from Gaza.",
 "N:ceasefire-begins-2025-01-19:prisoner_exchange")
it("prairie-gazette","2025-01-19 18:30","nation-world","Truce begins in Gaza; three Israeli women released",
 "The truce between Israel and Hamas came into force on Sunday morning, nearly three hours behind schedule, after Israel said it had not received the names of the first hostages to be freed. Three women were later handed over in Gaza City.",
 "N:ceasefire-begins-2025-01-19:ceasefire,prisoner_exchange", synd="lw-truce")
it("prairie-gazette","2025-01-19 20:15","nation-world","TikTok restores service after Trump promises reprieve",
 "TikTok came back online for American users on Sunday after the president-elect said he would issue an order delaying enforcement of the ban once he takes office. The app had gone dark late on Saturday.",
 "X")

# ---------------- 25 Jan ----------------
it("levant-wire","2025-01-25 12:40","middle-east","Four Israeli soldiers freed in Gaza City in second exchange",
 "Hamas handed over four female soldiers captured at the Nahal Oz base on a stage in Gaza City on Saturday. Israel later released 200 Palestinian prisoners, many serving long sentences. It was the second swap since the truce began.",
 "N:second-release-2025-01-25:prisoner_exchange")
it("jaffa-daily","2025-01-25 14:20","society","Karina, Daniella, Naama and Liri back in Israel",
 "Karina Ariev, Daniella Gilboa, Naama Levy and Liri Albag were reunited with their parents at a base near the Gaza border after more than 15 months in captivity. Doctors said they were in stable condition. Crowds in Tel Aviv's Hostages Square watched the handover live.",
 "N:second-release-2025-01-25:prisoner_exchange")
it("harbor-times","2025-01-25 19:00","world","Civilian captive's absence holds up return to northern Gaza",
 "Israel said it would keep the Netzarim corridor closed to Palestinians heading north until Hamas released Arbel Yehud, a civilian it said should have been freed before the soldiers. Tens of thousands of people waited along the coastal road. Mediators were working to resolve the dispute.",
 "R")
it("continental-bulletin","2025-01-25 20:10","news","Israel says troops will stay in south Lebanon beyond deadline",
 "Netanyahu's office said Israeli forces would not complete their withdrawal from southern Lebanon by the 60-day deadline set in the November ceasefire with Hezbollah, accusing Lebanon's army of failing to deploy fully. Lebanon urged the United States and France to press Israel to pull out.",
 "XH")
it("harbor-times","2025-01-25 08:30","politics","Senate confirms Hegseth after Vance casts tie-breaking vote",
 "Pete Hegseth was confirmed as defense secretary late on Friday, with the vice president breaking a 50-50 tie. Three Republicans joined all Democrats in opposing him.",
 "X")

# ---------------- 01 Feb ----------------

# ---------------- 05 Feb ----------------
it("levant-wire","2025-02-05 02:10","americas","Trump says U.S. should take over Gaza and resettle its people",
 "Standing beside Netanyahu at the White House, Trump said the United States would take control of Gaza, clear the rubble and develop it, with its two million residents moved to other countries. He did not rule out sending U.S. troops. The idea drew immediate condemnation from Palestinians.",
 "N:trump-gaza-takeover-proposal-2025-02-04:proposal,meeting", ref="lw-riviera")
it("harbor-times","2025-02-05 07:00","world","A 'Riviera' on the Mediterranean: Trump floats owning the strip",
 "The president described a future Gaza of jobs and housing after its population had left, saying the U.S. would take long-term ownership. Aides struggled on Wednesday to explain how it would work. Netanyahu called the idea worth paying attention to.",
 "N:trump-gaza-takeover-proposal-2025-02-04:proposal")
it("crescent-post","2025-02-05 10:20","gulf","Riyadh and Cairo reject any plan to move Gazans",
 "Saudi Arabia said overnight that its support for a Palestinian state was not negotiable after Trump proposed that the U.S. take over Gaza and relocate its residents. Egypt and Jordan reiterated that they would not accept displaced Palestinians. Hamas called the plan a recipe for chaos.",
 "N:trump-gaza-takeover-proposal-2025-02-04:proposal")
it("jaffa-daily","2025-02-05 12:00","politics","Talks on second phase yet to get going, officials say",
 "Negotiations on the second stage of the truce were due to begin this week but Israeli officials said the team had not yet been given a mandate. Netanyahu is to hold discussions with Witkoff while in Washington. Families called for the talks to start without delay.",
 "R")
it("continental-bulletin","2025-02-05 09:15","news","European capitals distance themselves from Trump's Gaza idea",
 "France, Germany and Britain said Gaza belonged to the Palestinians and that forced displacement would breach international law. The EU repeated its support for a two-state solution.",
 "R")
it("prairie-gazette","2025-02-05 06:40","business","China hits back with tariffs on U.S. coal and gas",
 "Beijing announced duties on American coal, liquefied natural gas and some farm machinery minutes after new U.S. tariffs took effect, and opened an antitrust probe into Google. A 30-day pause was agreed for Canada and Mexico.",
 "XH")

# ---------------- 11 Feb ----------------
it("levant-wire","2025-02-11 06:30","middle-east","Hamas puts next hostage release on hold, citing Israeli violations",
 "The group's armed wing said it would postpone the handover planned for Saturday until further notice, accusing Israel of delaying aid, blocking tents and shooting at returning residents. Israel said it was a breach of the deal. Mediators in Cairo and Doha began urgent contacts.",
 "N:hamas-pauses-releases-2025-02-10:prisoner_exchange,ceasefire")
it("jaffa-daily","2025-02-11 08:10","security","Army ordered to highest alert after Hamas halts releases",
 "Defence Minister Israel Katz said he had instructed the military to prepare for any scenario in Gaza after Hamas said it was suspending the exchange. Protesters blocked roads in Tel Aviv demanding the deal be saved.",
 "N:hamas-pauses-releases-2025-02-10:prisoner_exchange,ceasefire")
it("harbor-times","2025-02-11 12:30","world","Trump: free all hostages by Saturday noon or 'all hell' breaks out",
 "The president said Israel should cancel the ceasefire if every hostage was not returned by midday on Saturday, though he said the decision was Israel's. He also suggested he might withhold aid from Jordan and Egypt if they refused to take in Gazans.",
 "R")
it("crescent-post","2025-02-11 14:00","gulf","Mediators race to keep truce from unravelling",
 "Egyptian and Qatari officials were in contact with both sides to rescue the exchange due at the weekend, according to people familiar with the talks. A Hamas delegation was expected in Cairo.",
 "R")
it("continental-bulletin","2025-02-11 19:45","news","Russia frees American teacher Marc Fogel",
 "Fogel, jailed in Russia since 2021 over a small amount of medical cannabis, flew home with Witkoff after what the White House described as an exchange. Trump said the release was a sign of goodwill from Moscow.",
 "XH")
it("prairie-gazette","2025-02-11 09:00","business","Trump raises steel and aluminum tariffs to 25%",
 "The president signed proclamations removing exemptions and lifting duties on aluminum, with the measures due to take effect in March. Canada and the EU warned of countermeasures.",
 "XH")

# ---------------- 15 Feb ----------------

# ---------------- 20 Feb ----------------
it("levant-wire","2025-02-20 10:20","middle-east","Four coffins handed over in Khan Younis, including Bibas children",
 "Hamas handed the Red Cross four coffins it said held Shiri Bibas, her sons Ariel and Kfir, and Oded Lifshitz, a veteran peace activist. It was the first return of bodies under the truce. Israel denounced the staged ceremony around the handover.",
 "N:bibas-bodies-returned-2025-02-20:prisoner_exchange")
it("jaffa-daily","2025-02-20 19:00","society","A country mourns as the youngest hostages come home in coffins",
 "Crowds lined the roads as the convoy carrying the four bodies travelled to the forensic institute. Kfir Bibas was nine months old when he was abducted. Israel says the Bibas boys were killed in captivity; Hamas says they died in an Israeli strike.",
 "N:bibas-bodies-returned-2025-02-20:prisoner_exchange")
it("harbor-times","2025-02-20 22:00","world","Netanyahu vows Hamas will pay 'full price'",
 "The prime minister said Israel would settle accounts with the murderers of the Bibas children. He did not say whether it would affect the ceasefire.",
 "R")
it("continental-bulletin","2025-02-20 17:30","news","Germany heads into election with AfD polling second",
 "Friedrich Merz's conservatives lead the polls ahead of Sunday's federal election, with the far-right Alternative for Germany in second place. Olaf Scholz's Social Democrats are trailing in third. Migration and the economy have dominated the campaign.",
 "X")

# ---------------- 22 Feb ----------------

# ---------------- 02 Mar ----------------
it("levant-wire","2025-03-02 08:45","middle-east","Israel stops all goods entering Gaza as first phase ends",
 "Israel halted deliveries of food, fuel and other supplies to Gaza on Sunday, saying Hamas had rejected a U.S. plan to extend the truce. Hamas called the move blackmail. The first stage of the ceasefire formally expired on Saturday.",
 "N:israel-halts-aid-2025-03-02:aid", ref="lw-aidhalt")
it("jaffa-daily","2025-03-02 07:20","politics","Israel backs U.S. plan to stretch truce through Ramadan and Passover",
 "Netanyahu's office said Israel had accepted a proposal by Witkoff to extend the ceasefire for several weeks, under which half of the remaining hostages would be freed on the first day and the rest if a permanent deal were reached. Hamas insists on moving to the second phase.",
 "N:witkoff-ramadan-extension-2025-03-02:proposal,ceasefire")
it("continental-bulletin","2025-03-02 18:00","news","European leaders meet in London to shore up Ukraine after Oval Office clash",
 "Starmer hosted European leaders and Zelenskiy and said Britain, France and others would work on a plan to end the war to present to Washington. It came two days after Trump and Vance berated Zelenskiy at the White House.",
 "XH")
it("prairie-gazette","2025-03-02 11:00","nation-world","Israel cuts off goods to Gaza as truce phase lapses",
 "Israel halted deliveries of food, fuel and other supplies to Gaza on Sunday, saying Hamas had rejected a U.S. plan to extend the truce.",
 "N:israel-halts-aid-2025-03-02:aid", synd="lw-aidhalt")

# ---------------- 05 Mar ----------------
it("levant-wire","2025-03-05 06:20","middle-east","Arab leaders adopt Egypt's $53 billion blueprint to rebuild Gaza",
 "An Arab League summit in Cairo on Tuesday endorsed an Egyptian plan to reconstruct Gaza over several years without moving its population, with a committee of technocrats running the strip for a transitional period. The plan is an alternative to Trump's takeover idea.",
 "N:arab-league-reconstruction-plan-2025-03-04:proposal")
it("crescent-post","2025-03-05 09:00","egypt","Cairo summit backs rebuilding Gaza with its people in place",
 "Sisi told the gathering that Palestinians must stay on their land and that a reconstruction conference would follow. Hamas welcomed the plan; the Palestinian Authority said it was ready to take on a role.",
 "N:arab-league-reconstruction-plan-2025-03-04:proposal")
it("harbor-times","2025-03-05 19:10","world","White House confirms hostage envoy held direct talks with Hamas",
 "Adam Boehler, the administration's envoy for hostage affairs, met Hamas officials in Doha in recent weeks, breaking a long-standing U.S. policy of not dealing directly with the group. The talks focused on American hostages, the press secretary said, and Israel had been consulted.",
 "N:us-hamas-direct-talks-2025-03-05:meeting")
it("jaffa-daily","2025-03-05 21:00","politics","Jerusalem uneasy over Boehler's contacts with Hamas",
 "Israeli officials expressed frustration that the U.S. envoy met Hamas representatives directly in Qatar. Netanyahu's office said Israel had expressed its position to the Americans.",
 "N:us-hamas-direct-talks-2025-03-05:meeting")
it("levant-wire","2025-03-05 22:30","americas","Trump issues 'last warning' to Hamas after meeting freed hostages",
 "The president met eight former captives at the White House and told Hamas leaders to leave Gaza while they could. He said he would send Israel everything it needed to finish the job.",
 "R")
it("prairie-gazette","2025-03-05 17:20","nation-world","U.S. pauses intelligence sharing with Ukraine",
 "The CIA director confirmed that Washington had halted the flow of intelligence to Kyiv, days after freezing military aid. He suggested the pause could soon be lifted if Ukraine engaged with peace efforts.",
 "XH")
it("harbor-times","2025-03-05 08:00","business","Tariffs on Canada and Mexico take effect, markets slide",
 "Duties of 25% on imports from the two neighbours came into force, with China's rate doubled to 20%. Canada retaliated on American goods.",
 "XH")

# ---------------- 14 Mar ----------------
it("crescent-post","2025-03-14 10:10","gulf","Witkoff tables 'bridge' plan to extend Gaza truce",
 "The U.S. envoy presented a proposal in Doha this week that would prolong the ceasefire into April in return for the release of living hostages, while talks on a permanent end to the war continue. Egypt and Qatar have been pressing both sides to accept.",
 "N:witkoff-bridge-proposal-2025-03-12:proposal,ceasefire")
it("levant-wire","2025-03-14 16:30","middle-east","Hamas offers to free Edan Alexander and return four bodies",
 "Hamas said it would release Edan Alexander, an American-Israeli soldier, and the remains of four dual nationals, in response to the mediators' proposal. Netanyahu's office accused the group of psychological warfare.",
 "N:hamas-offers-alexander-2025-03-14:concession,prisoner_exchange")
it("continental-bulletin","2025-03-14 07:50","news","Putin backs truce idea 'in principle' but lists conditions",
 "Russia's president said he agreed with the U.S. proposal for a 30-day ceasefire in Ukraine, accepted by Kyiv in Jeddah, but raised questions about monitoring and Ukrainian rearmament. Witkoff met him in Moscow.",
 "XH")

# ---------------- 18 Mar ----------------
it("levant-wire","2025-03-18 05:30","middle-east","Israel launches heaviest strikes on Gaza since truce, killing hundreds",
 "Israeli warplanes struck across Gaza before dawn on Tuesday, killing more than 400 people according to the health ministry, after Netanyahu said Hamas had refused to free more hostages. It was the heaviest day of bombing since the January ceasefire.",
 "N:israel-resumes-strikes-2025-03-18:ceasefire", ref="lw-strikes")
it("harbor-times","2025-03-18 11:00","world","Gaza ceasefire collapses as Netanyahu orders 'forceful' action",
 "Israel said the strikes were coordinated with the White House. The two-month pause, which saw 33 hostages and well over a thousand Palestinian prisoners exchanged, ended without the second phase ever being negotiated.",
 "N:israel-resumes-strikes-2025-03-18:ceasefire")
it("continental-bulletin","2025-03-18 20:30","news","Putin agrees to pause strikes on Ukrainian energy sites after Trump call",
 "After a long call with Trump, the Kremlin said Russia would stop targeting energy infrastructure for 30 days but rejected a full ceasefire. The two sides agreed to swap 175 prisoners each.",
 "XH")
it("prairie-gazette","2025-03-18 13:00","nation-world","Israeli strikes kill hundreds in Gaza, ending truce",
 "Israeli warplanes struck across Gaza before dawn on Tuesday, killing more than 400 people according to the health ministry. It was the heaviest day of bombing since the January ceasefire.",
 "N:israel-resumes-strikes-2025-03-18:ceasefire", synd="lw-strikes")

# ---------------- 30 Mar ----------------

# ---------------- 12 May ----------------
it("levant-wire","2025-05-12 15:40","middle-east","Hamas frees U.S.-Israeli soldier Edan Alexander",
 "Edan Alexander, the last living American citizen held in Gaza, was handed to the Red Cross on Monday after direct contacts between Hamas and the Trump administration. Israel paused some military activity to allow the handover. No prisoners were released in return.",
 "N:edan-alexander-released-2025-05-12:prisoner_exchange,concession", ref="lw-edan")
it("harbor-times","2025-05-12 19:30","world","Tenafly cheers as Edan Alexander walks free",
 "The 21-year-old soldier, who grew up in New Jersey, was reunited with his family at a base in southern Israel. Trump thanked Qatar and Egypt for their help.",
 "N:edan-alexander-released-2025-05-12:prisoner_exchange")
it("crescent-post","2025-05-12 09:00","gulf","Trump heads to the Gulf with Gaza off the official agenda",
 "The president's visit to Saudi Arabia, Qatar and the UAE is expected to focus on investment and arms sales. Gulf officials hope he will press Israel on Gaza, where aid has been blocked since March.",
 "R")
it("continental-bulletin","2025-05-12 12:00","news","India and Pakistan ceasefire holds for second night",
 "Border towns in Kashmir were quiet after the truce announced on Saturday. Military commanders of the two nuclear-armed neighbours were due to speak by hotline.",
 "XH")
it("prairie-gazette","2025-05-12 08:30","business","U.S. and China agree to slash tariffs for 90 days",
 "After talks in Geneva, the two sides said they would cut most of the duties imposed since April, with the U.S. rate on Chinese goods falling to 30%. Stocks rallied.",
 "XH")
it("levant-wire","2025-05-12 07:10","europe","Zelenskiy says he will wait for Putin in Turkey",
 "Ukraine's president said he would be in Istanbul on Thursday for face-to-face talks, after Putin proposed restarting direct negotiations there. Trump urged Kyiv to accept.",
 "XH")

# ---------------- 27 May ----------------
it("levant-wire","2025-05-27 07:40","middle-east","U.S.-backed foundation opens first Gaza aid hubs",
 "The Gaza Humanitarian Foundation began handing out food boxes on Monday at sites in the Rafah area guarded by private contractors, under a system backed by Israel and the U.S. The UN refused to take part, saying it would force people to move towards military zones.",
 "N:ghf-aid-begins-2025-05-26:aid")
it("crescent-post","2025-05-27 18:00","gaza","Crowds overwhelm new distribution site in Rafah",
 "Thousands of hungry people broke through fences at one of the foundation's hubs on Tuesday, and Israeli troops fired warning shots. Gaza officials said several people were wounded.",
 "N:ghf-aid-begins-2025-05-26:aid")
it("jaffa-daily","2025-05-27 12:00","society","Hostage families march in Tel Aviv as war drags on",
 "Thousands joined relatives of the remaining captives to demand a deal, as the army pressed its expanded offensive. Organisers said 58 hostages were still in Gaza.",
 "R")
it("continental-bulletin","2025-05-27 10:30","news","Russia and Ukraine complete biggest prisoner swap of the war",
 "Each side released 1,000 prisoners over three days, the one concrete result of the Istanbul talks. Kyiv was hit by heavy drone attacks during the exchange.",
 "XH")

# ---------------- 31 May ----------------
it("harbor-times","2025-05-31 08:00","world","Israel signed off on Witkoff's new truce plan, White House says",
 "The press secretary said on Thursday that Israel had backed the latest U.S. proposal before it was sent to Hamas. The plan would see 10 living hostages and 18 bodies released during a 60-day pause.",
 "N:witkoff-60-day-proposal-2025-05-29:proposal,ceasefire")
it("levant-wire","2025-05-31 19:40","middle-east","Hamas answers U.S. truce plan with call for permanent end to war",
 "Hamas said it would free 10 living hostages and 18 bodies under the Witkoff framework but sought guarantees that the fighting would end and Israel would withdraw. Witkoff called the response totally unacceptable.",
 "N:hamas-response-witkoff-2025-05-31:proposal")
it("continental-bulletin","2025-05-31 09:40","news","Moscow proposes second round of Istanbul talks on Monday",
 "Russia said it would present a memorandum on ending the war at a new meeting with Ukraine in Istanbul. Kyiv said it wanted to see the document first.",
 "XH")

# ---------------- 24 Jun ----------------
it("levant-wire","2025-06-24 08:00","middle-east","Israel-Iran ceasefire takes hold after Trump announcement",
 "A truce between Israel and Iran came into force on Tuesday after 12 days of war, hours after the U.S. president announced it. Both sides accused the other of violations in its first hours.",
 "XH")
it("continental-bulletin","2025-06-24 13:00","news","Trump scolds Israel and Iran as truce wobbles",
 "The president said both countries had violated the ceasefire and told Israel to recall its jets. He later said the truce was in effect.",
 "XH")
it("crescent-post","2025-06-24 15:30","gulf","Mediators hope end of Iran war can revive Gaza talks",
 "Qatari and Egyptian officials said they would intensify contacts on Gaza now that the fighting with Iran has stopped. No new meeting has been scheduled.",
 "R")
it("jaffa-daily","2025-06-24 18:20","security","Seven soldiers killed in Khan Younis blast",
 "The army said seven soldiers were killed when an explosive device was attached to their armoured vehicle in Khan Younis. It was one of the deadliest incidents for Israeli troops in Gaza this year. The names were released after families were informed.",
 "R")

# ---------------- 07 Jul ----------------
it("levant-wire","2025-07-07 06:30","middle-east","Israeli and Hamas negotiators begin indirect talks in Doha",
 "Delegations sat in separate rooms in the Qatari capital on Sunday as mediators carried messages on a U.S.-backed 60-day truce. An Israeli official said the team had a mandate to reach a deal on the terms Israel accepted.",
 "N:doha-proximity-talks-2025-07-06:meeting")
it("crescent-post","2025-07-07 12:15","gulf","First Doha session ends without a breakthrough",
 "Palestinian officials said the first round of proximity talks broke up inconclusively because Israel's team lacked authority. The talks were due to resume on Monday.",
 "N:doha-proximity-talks-2025-07-06:meeting")
it("harbor-times","2025-07-07 23:50","world","Netanyahu dines with Trump as Gaza talks go on",
 "The Israeli leader met Trump at the White House on Monday evening and presented him with a letter nominating him for the Nobel Peace Prize. The two discussed the Gaza negotiations and the aftermath of the Iran war.",
 "N:netanyahu-trump-meeting-2025-07-07:meeting")
it("prairie-gazette","2025-07-07 16:00","nation-world","Texas flood death toll passes 100",
 "Searchers continued looking for missing campers and residents along the Guadalupe River after the July 4 floods. Officials faced questions about warnings.",
 "X")
it("continental-bulletin","2025-07-07 20:10","news","Trump sends tariff letters to Japan and South Korea",
 "The president posted letters telling the two allies that their goods would face 25% duties from 1 August unless they struck trade deals. More letters to other countries followed. Markets fell on the news.",
 "XH")

# ---------------- 08 Aug ----------------
it("levant-wire","2025-08-08 05:50","middle-east","Israel's security cabinet approves plan to take over Gaza City",
 "Ministers endorsed the army preparing to seize control of Gaza City, while distributing aid to civilians outside combat zones. The decision followed the collapse of truce talks last month.",
 "N:gaza-city-takeover-approved-2025-08-08:")
it("jaffa-daily","2025-08-08 08:20","politics","Cabinet backs Gaza City plan despite army chief's warnings",
 "Chief of staff Eyal Zamir was reported to have warned ministers that the operation could endanger the hostages. Families accused the government of giving up on them.",
 "N:gaza-city-takeover-approved-2025-08-08:")
it("crescent-post","2025-08-08 16:00","gaza","Gaza City residents brace for another displacement",
 "Families who returned during the short-lived ceasefire said they had nowhere else to go. Aid groups warned of catastrophic consequences.",
 "R")
it("harbor-times","2025-08-08 23:30","world","Trump says he will meet Putin in Alaska on Aug. 15",
 "The president announced the summit on social media, the first meeting of the two leaders since 2019. Ukraine was not invited.",
 "XH")
it("prairie-gazette","2025-08-08 22:00","nation-world","Armenia and Azerbaijan leaders sign peace pact at White House",
 "The leaders of Armenia and Azerbaijan initialled an agreement at the White House meant to end decades of conflict. The deal includes a transit corridor through southern Armenia to be developed with U.S. involvement. Trump hosted the ceremony.",
 "XH")

# ---------------- 18 Aug ----------------
it("levant-wire","2025-08-18 18:20","middle-east","Hamas accepts Egyptian-Qatari proposal for 60-day truce",
 "Hamas told mediators in Cairo on Monday that it agreed to a plan under which about half of the remaining living hostages would be freed during a two-month pause. Egypt urged Israel to respond quickly.",
 "N:hamas-accepts-mediators-proposal-2025-08-18:concession,proposal,ceasefire")
it("crescent-post","2025-08-18 20:30","egypt","Mediators await Israel's reply after Hamas says yes",
 "Qatar said the proposal Hamas accepted was almost identical to one Israel had agreed to earlier. Egyptian officials said they were waiting for a response.",
 "N:hamas-accepts-mediators-proposal-2025-08-18:concession,proposal")
it("jaffa-daily","2025-08-18 22:10","politics","Israel says its terms are unchanged: all hostages, one deal",
 "An official said Israel's policy had not changed and that any agreement must bring back all the hostages. The offensive on Gaza City is going ahead.",
 "R")
it("continental-bulletin","2025-08-18 21:00","news","Zelenskiy and European leaders meet Trump at White House",
 "Zelenskiy returned to the Oval Office accompanied by leaders from Britain, France, Germany, Italy, Finland, the EU and NATO. They discussed security guarantees for Ukraine and a possible meeting with Putin, three days after the Alaska summit.",
 "XH")

# ---------------- 09 Sep ----------------
it("levant-wire","2025-09-09 13:40","middle-east","Israel strikes Hamas leadership in Doha",
 "Explosions hit a residential compound in the Qatari capital on Tuesday where Hamas officials were meeting to discuss a U.S. ceasefire offer. Israel said it targeted senior leaders.",
 "N:israel-strikes-doha-2025-09-09:", ref="lw-doha")
it("crescent-post","2025-09-09 15:20","gulf","Qatar condemns 'cowardly' attack on its capital",
 "Qatar called the strike a flagrant violation of international law. A Qatari security officer was among the dead.",
 "N:israel-strikes-doha-2025-09-09:")
it("jaffa-daily","2025-09-09 22:40","security","Hamas says its leaders survived Doha strike",
 "Hamas said the members of its negotiating team had survived the strike in Doha. Five members of the group were killed, among them the son of its chief negotiator, Khalil al-Hayya, along with a Qatari security officer. Israel had not confirmed the outcome of the attack.",
 "N:israel-strikes-doha-2025-09-09:")
it("levant-wire","2025-09-09 07:30","middle-east","Army tells all Gaza City residents to head south",
 "The military issued an evacuation order for the whole of Gaza City ahead of an expanded offensive. Aid agencies said there was no safe place.",
 "R")
it("continental-bulletin","2025-09-09 16:00","news","Nepal's prime minister resigns amid deadly protests",
 "K.P. Sharma Oli stepped down after demonstrations over a social media ban turned violent.",
 "X")

# ---------------- 29/30 Sep ----------------
it("levant-wire","2025-09-30 05:00","americas","Trump unveils 20-point plan to end Gaza war, with Netanyahu's backing",
 "At a White House news conference with the Israeli prime minister, Trump presented a plan for an immediate ceasefire, the release of all hostages within 72 hours and a phased Israeli withdrawal. Hamas would disarm and have no role in governing Gaza.",
 "N:trump-20-point-plan-2025-09-29:proposal,meeting")
it("harbor-times","2025-09-30 07:30","world","Hostages in 72 hours, a 'Board of Peace': what is in the plan",
 "The U.S. proposal would free hostages and about 2,000 Palestinian prisoners, put Gaza under a technocratic committee overseen by a board chaired by Trump, and deploy an international stabilisation force.",
 "N:trump-20-point-plan-2025-09-29:proposal,prisoner_exchange")
it("jaffa-daily","2025-09-30 06:00","politics","Netanyahu apologises to Qatar's premier in call from the White House",
 "Netanyahu expressed regret for the strike on Doha, including the death of a Qatari security officer, in a call with Sheikh Mohammed bin Abdulrahman placed from the White House on Monday. Trump was present. The apology was seen as a condition for Qatar returning to mediation.",
 "N:netanyahu-apologises-qatar-2025-09-29:meeting")
it("crescent-post","2025-09-30 12:00","gulf","Hamas says it is studying U.S. plan",
 "Hamas officials said they had received the U.S. proposal through Qatari and Egyptian mediators and would study it before replying. Several of them privately voiced doubts about the disarmament clauses. No timetable for a response was given.",
 "R")
it("prairie-gazette","2025-09-30 18:00","nation-world","Government shutdown looms as Congress deadlocks",
 "Federal funding runs out at midnight with Democrats and Republicans deadlocked over health insurance subsidies. Agencies have begun preparing furlough plans. It would be the first shutdown since 2019.",
 "X")

# ---------------- 03/04 Oct ----------------
it("levant-wire","2025-10-04 05:00","middle-east","Hamas agrees to free all hostages under Trump plan, seeks talks on details",
 "Hamas said on Friday it was ready to release all the hostages, living and dead, under the exchange formula in the U.S. plan, and to hand Gaza's administration to Palestinian technocrats. It said other points needed further negotiation.",
 "N:hamas-accepts-hostage-release-2025-10-03:concession,prisoner_exchange")
it("harbor-times","2025-10-04 07:00","world","Trump tells Israel to stop bombing Gaza after Hamas reply",
 "The president said Hamas was ready for a lasting peace after the group accepted key parts of his plan. Netanyahu's office said Israel was preparing for the first stage.",
 "N:hamas-accepts-hostage-release-2025-10-03:concession")
it("jaffa-daily","2025-10-04 15:00","politics","Egypt to host talks on Monday on hostage release",
 "Egypt said delegations from Israel and Hamas would meet in Sharm el-Sheikh to discuss the exchange. Netanyahu said he hoped to announce the return of hostages in the coming days.",
 "N:sharm-talks-announced-2025-10-04:meeting")
it("continental-bulletin","2025-10-04 20:00","news","Babis's party wins Czech election",
 "Andrej Babis's ANO movement came first in the Czech parliamentary election with around a third of the vote. The billionaire former prime minister is expected to seek coalition partners. His return could cool Prague's support for Ukraine.",
 "X")
it("crescent-post","2025-10-04 18:00","gaza","In Gaza, cautious hope as strikes continue",
 "Residents of Gaza City said they welcomed the diplomatic movement but Israeli fire had not stopped overnight. Many said they had heard promises of a truce before. Aid groups called for crossings to open immediately.",
 "R")

# ---------------- 06 Oct ----------------

# ---------------- 09 Oct ----------------
it("levant-wire","2025-10-09 00:10","americas","Israel and Hamas agree first phase of Trump plan, Trump says",
 "The president said both sides had signed off on the first stage of his plan, under which all hostages would be released soon and Israel would withdraw its troops to an agreed line. Qatar confirmed the deal.",
 "N:first-phase-agreed-2025-10-08:agreement,ceasefire,prisoner_exchange", ref="lw-phase1")
it("crescent-post","2025-10-09 11:00","gulf","Qatar confirms agreement on all first-phase terms",
 "Qatar's foreign ministry spokesman said agreement had been reached on all the provisions and mechanisms of the first phase. He said it would lead to an end of the war, the release of hostages and prisoners and the entry of aid. Details would be announced later.",
 "N:first-phase-agreed-2025-10-08:agreement,ceasefire,aid")
it("continental-bulletin","2025-10-09 12:30","news","Hungarian author Krasznahorkai wins Nobel literature prize",
 "The Swedish Academy awarded the Nobel Prize in Literature to the Hungarian novelist Laszlo Krasznahorkai. The committee praised his visionary work. He is best known for novels such as Satantango.",
 "X")

# ---------------- 10 Oct ----------------
it("jaffa-daily","2025-10-10 01:20","politics","Government approves deal to bring hostages home",
 "The government voted to ratify the first phase of the agreement in the early hours of Friday, with far-right ministers opposed. The vote starts the clock on the army's pullback and on the release of the hostages within 72 hours.",
 "N:israel-cabinet-approves-oct-deal-2025-10-10:agreement")
it("levant-wire","2025-10-10 10:30","middle-east","Gaza ceasefire takes effect as Israeli troops pull back",
 "The military said the truce took effect at noon on Friday, with forces moving back to the agreed line. Hamas now has 72 hours to free the hostages.",
 "N:ceasefire-takes-effect-2025-10-10:ceasefire")
it("crescent-post","2025-10-10 16:30","gaza","Hundreds of thousands head north along coastal road",
 "Long columns of displaced families walked and drove along the coastal road towards Gaza City after the ceasefire took effect at midday. Many found their neighbourhoods flattened. Civil defence crews began recovering bodies from the rubble.",
 "N:ceasefire-takes-effect-2025-10-10:ceasefire")
it("harbor-times","2025-10-10 11:00","world","Venezuelan opposition leader Machado wins Nobel Peace Prize",
 "The committee honoured Maria Corina Machado for her struggle for democracy. Trump had publicly sought the prize.",
 "X")

# ---------------- 13 Oct ----------------
it("levant-wire","2025-10-13 10:10","middle-east","All 20 living hostages freed as Israel releases nearly 2,000 prisoners",
 "Hamas handed the last living hostages to the Red Cross in two groups on Monday. Israel freed around 250 prisoners serving long sentences and some 1,700 Gazans held during the war.",
 "N:living-hostages-freed-2025-10-13:prisoner_exchange", ref="lw-oct13")
it("jaffa-daily","2025-10-13 12:30","society","Matan, Evyatar, Gali and Ziv: the last 20 come home",
 "Families of Matan Zangauker, Evyatar David and twins Gali and Ziv Berman were among those who embraced loved ones. Crowds filled Hostages Square.",
 "N:living-hostages-freed-2025-10-13:prisoner_exchange")
it("crescent-post","2025-10-13 15:00","palestine","Buses bring freed prisoners to Ramallah and Khan Younis",
 "Crowds in Ramallah and at Nasser hospital in Khan Younis greeted buses carrying prisoners freed under the deal. Some of those serving life sentences were sent abroad through Egypt. Israel had warned families against celebrations.",
 "N:living-hostages-freed-2025-10-13:prisoner_exchange")
it("continental-bulletin","2025-10-13 18:30","news","Leaders sign Gaza declaration at Sharm el-Sheikh summit",
 "Trump, Sisi, Qatar's emir and Erdogan signed a document backing the ceasefire at a gathering of more than 20 leaders. Israel and Hamas were not present.",
 "N:sharm-summit-2025-10-13:meeting,agreement")
it("levant-wire","2025-10-13 19:00","middle-east","Trump and Sisi host peace summit; Israel and Hamas absent",
 "The U.S. and Egyptian presidents co-chaired the meeting in Sharm el-Sheikh, where mediators signed a document as guarantors of the truce.",
 "N:sharm-summit-2025-10-13:meeting,agreement")
it("prairie-gazette","2025-10-13 12:00","business","Nobel economics prize goes to Mokyr, Aghion and Howitt",
 "The Nobel prize in economics went to Joel Mokyr, Philippe Aghion and Peter Howitt for work explaining how innovation drives sustained growth. The academy said their research showed growth cannot be taken for granted.",
 "X")

# ---------------- 19 Oct ----------------
it("jaffa-daily","2025-10-19 07:30","politics","Netanyahu keeps Rafah crossing shut pending return of bodies",
 "The prime minister's office said late on Saturday that the crossing would stay closed until Hamas returned the remains of deceased hostages. Egypt had said it would reopen on Monday.",
 "N:rafah-stays-closed-2025-10-18:aid")
it("crescent-post","2025-10-19 10:00","gaza","Patients stranded as Rafah stays closed",
 "Israel's decision to keep the Rafah crossing closed has left patients who were due to travel to Egypt for treatment waiting at home. Egyptian officials said preparations on their side were complete.",
 "N:rafah-stays-closed-2025-10-18:aid")
it("levant-wire","2025-10-19 20:00","middle-east","Israel strikes Gaza after soldiers killed in Rafah, then says truce restored",
 "Israel carried out strikes after two soldiers were killed, then announced it would resume enforcing the ceasefire. Hamas said it was committed.",
 "N:rafah-flareup-2025-10-19:ceasefire")
it("continental-bulletin","2025-10-19 14:00","news","Thieves steal crown jewels from the Louvre",
 "A gang used a truck-mounted lift to reach a window of the Louvre's Apollo gallery and escaped with jewellery in a matter of minutes on Sunday morning. The museum was closed for the day. France's culture minister said no one was hurt.",
 "X")
it("prairie-gazette","2025-10-19 22:00","nation-world","Trump urges Ukraine and Russia to stop at current lines",
 "The president said Russia and Ukraine should halt the war at the current battle lines and negotiate later, days after hosting Zelenskiy at the White House. He declined to send Tomahawk missiles to Kyiv for now.",
 "XH")

# ---------------- 18 Nov ----------------
it("levant-wire","2025-11-18 05:00","world","Security Council endorses Trump's Gaza plan and international force",
 "The UN Security Council adopted a U.S.-drafted resolution welcoming the plan, the Board of Peace and an international stabilisation force. Thirteen members voted in favour; Russia and China abstained.",
 "N:unsc-endorses-plan-2025-11-17:agreement")
it("continental-bulletin","2025-11-18 08:00","news","Russia and China abstain as UN backs Board of Peace",
 "The resolution gives the Board of Peace and the international stabilisation force a mandate until the end of 2027. Russia and China abstained, and Algeria voted in favour. European members said the text must lead to Palestinian self-rule.",
 "N:unsc-endorses-plan-2025-11-17:agreement")
it("crescent-post","2025-11-18 10:00","gulf","Hamas rejects UN mandate for stabilisation force",
 "Hamas said the resolution adopted by the Security Council imposed international guardianship on Gaza and rejected any force tasked with disarming it. The Palestinian Authority welcomed the vote. Qatar and Egypt said they would work with the new bodies.",
 "N:unsc-endorses-plan-2025-11-17:agreement")
it("jaffa-daily","2025-11-18 12:00","politics","Netanyahu insists Gaza will be demilitarised whatever the UN says",
 "The prime minister said Hamas would be disarmed one way or another and that Israel would keep its security responsibility. Coalition partners objected to language in the U.S. text on a path to Palestinian statehood.",
 "R")
it("harbor-times","2025-11-18 17:00","business","Cloudflare outage knocks major websites offline",
 "A fault at the internet infrastructure company disrupted access to many large websites and apps for several hours on Tuesday. Cloudflare said the problem was caused by an internal configuration error, not an attack.",
 "X")
it("prairie-gazette","2025-11-18 09:00","nation-world","Zelenskiy signs letter of intent for up to 100 Rafale jets",
 "Zelenskiy and Macron signed a letter of intent in Paris for Ukraine to acquire up to 100 Rafale fighter jets over about a decade, along with air-defence systems. No financing details were given.",
 "XH")

# ---------------- additions: known and relevant-none ----------------
it("crescent-post","2025-01-16 07:40","gulf","Qatar's premier: truce to start Sunday, mediators to watch over it",
 "Sheikh Mohammed bin Abdulrahman Al Thani told reporters in Doha that the ceasefire would take effect on 19 January. Qatar, Egypt and the United States would monitor its implementation, he said. The first exchange of hostages and prisoners is due on the same day.",
 "K:ceasefire-start-set-for-jan19:ceasefire")
it("prairie-gazette","2025-01-18 09:30","nation-world","What we know about the Gaza ceasefire deal",
 "The agreement unveiled in Qatar on Wednesday sets out a six-week first stage in which 33 hostages are to be freed in return for hundreds of Palestinian prisoners. Israeli troops would withdraw from populated areas and aid would be stepped up. Two further stages are yet to be negotiated.",
 "K:deal-phase-one-terms:agreement,prisoner_exchange,aid")
it("levant-wire","2025-01-19 04:30","middle-east","Gaza truce due to start at 8:30 a.m.; first hostages expected by afternoon",
 "The ceasefire agreed in Doha is set to begin on Sunday morning local time, Qatar's foreign ministry said. Three women are expected to be the first hostages released under the deal, in exchange for Palestinian prisoners.",
 "K:ceasefire-start-set-for-jan19:ceasefire")
it("harbor-times","2025-01-18 12:15","world","Who is Steve Witkoff, the real estate man in the middle of the Gaza deal",
 "Trump's friend and golf partner has no diplomatic background but was credited by Arab and Israeli officials with pushing the last-minute compromise in Doha. He is expected to take charge of the second-phase talks once Trump is sworn in.",
 "K:witkoff-mcgurk-doha-role:meeting")
it("jaffa-daily","2025-02-11 17:30","society","Hostage families plead with Netanyahu not to let truce collapse",
 "Relatives of captives still in Gaza held a rally outside the Kirya in Tel Aviv and urged the government to keep the deal alive. They said the images of freed hostages showed there was no time to lose.",
 "R")
it("continental-bulletin","2025-03-02 16:20","news","Explainer: the Philadelphi corridor and why Israel wants to keep it",
 "The narrow strip along Gaza's border with Egypt has become a sticking point for the next stage of the truce. Israel says it must control the route to stop smuggling, while Egypt and Hamas say the January deal requires a withdrawal.",
 "R")
it("harbor-times","2025-08-18 15:30","world","Profile: Khalil al-Hayya, the Hamas negotiator in Cairo",
 "The Qatar-based official has led the group's team in talks with Egyptian and Qatari mediators for much of the war. He lost family members in an Israeli strike on his Gaza home in 2014 and has become one of the most prominent Hamas voices on a deal.",
 "R")

# ---------------- revisions: follow-ups and merged items ----------------
it("continental-bulletin","2025-08-08 14:30","news","European governments urge Israel to drop Gaza City offensive",
 "Britain, France and several other European governments called on Israel to reverse the security cabinet's decision to take control of Gaza City, warning it would deepen the humanitarian crisis and endanger the hostages. Germany said it would stop approving exports of arms that could be used in Gaza.",
 "N:gaza-city-takeover-approved-2025-08-08:sanctions")
it("harbor-times","2025-10-13 20:30","world","From the Knesset to Sharm el-Sheikh, Trump puts his name to a Gaza declaration",
 "After telling Israeli lawmakers that the war was over, the president flew to the Red Sea resort and signed a document on Gaza's future with the leaders of Egypt, Qatar and Turkey. More than 20 leaders attended. Neither Israel nor Hamas took part.",
 "N:sharm-summit-2025-10-13:meeting,agreement")
it("harbor-times","2025-10-19 21:00","world","Envoys head to Israel after weekend flare-up tests the truce",
 "Witkoff and Kushner are due in Israel after two soldiers were killed in Rafah and Israel responded with air strikes across Gaza on Sunday before saying it was again enforcing the ceasefire. Vance is expected to follow later in the week.",
 "N:rafah-flareup-2025-10-19:ceasefire,meeting")
it("prairie-gazette","2025-02-11 07:30","nation-world","Trump says Gazans would have no right to return under his plan",
 "In a television interview, the president said Palestinians moved out of Gaza under his proposal would be given better housing elsewhere and would not come back. Arab governments have rejected the idea of moving Gaza's population.",
 "N:trump-gaza-takeover-proposal-2025-02-04:proposal")
it("crescent-post","2025-03-05 14:00","gaza","Markets empty out as Israel's aid cut-off enters its fourth day",
 "Prices of flour, sugar and cooking gas soared in Gaza after Israel stopped all supplies from entering on Sunday. UN agencies said their stocks would last only weeks. Bakeries in the south said they might have to close.",
 "N:israel-halts-aid-2025-03-02:aid")
it("jaffa-daily","2025-05-31 21:15","politics","Witkoff: Hamas reply 'takes us backward'",
 "The U.S. envoy said Hamas should accept his framework as the basis for proximity talks next week rather than seek changes. Israeli officials said the amendments the group requested amounted to a rejection.",
 "N:hamas-response-witkoff-2025-05-31:proposal")

it("levant-wire","2025-05-27 05:10","middle-east","Strike on school shelter in Gaza City kills dozens",
 "An Israeli strike hit a school housing displaced families in Gaza City early on Monday, killing dozens of people, many of them children, according to local health officials. The military said it targeted militants operating from the compound.",
 "R")
it("continental-bulletin","2025-07-07 15:00","news","UN says hundreds killed trying to reach food in Gaza",
 "The UN human rights office said hundreds of Palestinians had been killed since late May while trying to get food near distribution sites and aid convoys. Israel and the Gaza Humanitarian Foundation dispute the figures.",
 "R")
it("jaffa-daily","2025-09-30 09:00","security","Troops push deeper into Gaza City as diplomacy picks up",
 "Ground forces advanced further into neighbourhoods of Gaza City while leaders met in Washington. The army said it was dismantling Hamas positions and again urged residents to move south.",
 "R")
it("jaffa-daily","2025-06-24 07:30","security","Israelis leave shelters as Iran ceasefire takes hold",
 "The Home Front Command lifted most restrictions on Tuesday after Trump announced a ceasefire between Israel and Iran. A final Iranian missile barrage killed several people in Beersheba shortly before the truce began.",
 "XH")
it("crescent-post","2025-06-24 06:40","gulf","Qatar reopens airspace after Iranian missile attack on U.S. base",
 "Qatar said its air defences intercepted most of the missiles Iran fired at the Al Udeid air base on Monday evening, and that no one was hurt. Doha condemned the attack as a violation of its sovereignty but said it would keep working for calm.",
 "XH")
