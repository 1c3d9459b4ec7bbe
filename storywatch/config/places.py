"""Countries and their capitals in English, as news in English names them: what `seed new`
recognises as places in an article. Data only."""

from __future__ import annotations

# country -> capital (the seat of government most news names)
CAPITALS: dict[str, str] = {
    "Afghanistan": "Kabul", "Albania": "Tirana", "Algeria": "Algiers",
    "Andorra": "Andorra la Vella",
    "Angola": "Luanda", "Argentina": "Buenos Aires", "Armenia": "Yerevan", "Australia": "Canberra",
    "Austria": "Vienna", "Azerbaijan": "Baku", "Bahamas": "Nassau", "Bahrain": "Manama",
    "Bangladesh": "Dhaka", "Barbados": "Bridgetown", "Belarus": "Minsk", "Belgium": "Brussels",
    "Belize": "Belmopan", "Benin": "Porto-Novo", "Bhutan": "Thimphu", "Bolivia": "La Paz",
    "Bosnia and Herzegovina": "Sarajevo", "Botswana": "Gaborone", "Brazil": "Brasilia",
    "Brunei": "Bandar Seri Begawan", "Bulgaria": "Sofia", "Burkina Faso": "Ouagadougou",
    "Burundi": "Gitega", "Cambodia": "Phnom Penh", "Cameroon": "Yaounde", "Canada": "Ottawa",
    "Cape Verde": "Praia", "Central African Republic": "Bangui", "Chad": "N'Djamena",
    "Chile": "Santiago", "China": "Beijing", "Colombia": "Bogota", "Comoros": "Moroni",
    "Congo": "Brazzaville", "Democratic Republic of the Congo": "Kinshasa",
    "Costa Rica": "San Jose", "Croatia": "Zagreb", "Cuba": "Havana", "Cyprus": "Nicosia",
    "Czech Republic": "Prague", "Denmark": "Copenhagen", "Djibouti": "Djibouti",
    "Dominican Republic": "Santo Domingo", "Ecuador": "Quito", "Egypt": "Cairo",
    "El Salvador": "San Salvador", "Equatorial Guinea": "Malabo", "Eritrea": "Asmara",
    "Estonia": "Tallinn", "Eswatini": "Mbabane", "Ethiopia": "Addis Ababa", "Fiji": "Suva",
    "Finland": "Helsinki", "France": "Paris", "Gabon": "Libreville", "Gambia": "Banjul",
    "Georgia": "Tbilisi", "Germany": "Berlin", "Ghana": "Accra", "Greece": "Athens",
    "Guatemala": "Guatemala City", "Guinea": "Conakry", "Guinea-Bissau": "Bissau",
    "Guyana": "Georgetown", "Haiti": "Port-au-Prince", "Honduras": "Tegucigalpa",
    "Hungary": "Budapest", "Iceland": "Reykjavik", "India": "New Delhi", "Indonesia": "Jakarta",
    "Iran": "Tehran", "Iraq": "Baghdad", "Ireland": "Dublin", "Israel": "Jerusalem",
    "Italy": "Rome", "Ivory Coast": "Yamoussoukro", "Jamaica": "Kingston", "Japan": "Tokyo",
    "Jordan": "Amman", "Kazakhstan": "Astana", "Kenya": "Nairobi", "Kosovo": "Pristina",
    "Kuwait": "Kuwait City", "Kyrgyzstan": "Bishkek", "Laos": "Vientiane", "Latvia": "Riga",
    "Lebanon": "Beirut", "Lesotho": "Maseru", "Liberia": "Monrovia", "Libya": "Tripoli",
    "Liechtenstein": "Vaduz", "Lithuania": "Vilnius", "Luxembourg": "Luxembourg",
    "Madagascar": "Antananarivo", "Malawi": "Lilongwe", "Malaysia": "Kuala Lumpur",
    "Maldives": "Male", "Mali": "Bamako", "Malta": "Valletta", "Mauritania": "Nouakchott",
    "Mauritius": "Port Louis", "Mexico": "Mexico City", "Moldova": "Chisinau", "Monaco": "Monaco",
    "Mongolia": "Ulaanbaatar", "Montenegro": "Podgorica", "Morocco": "Rabat",
    "Mozambique": "Maputo", "Myanmar": "Naypyidaw", "Namibia": "Windhoek", "Nepal": "Kathmandu",
    "Netherlands": "Amsterdam", "New Zealand": "Wellington", "Nicaragua": "Managua",
    "Niger": "Niamey", "Nigeria": "Abuja", "North Korea": "Pyongyang",
    "North Macedonia": "Skopje", "Norway": "Oslo", "Oman": "Muscat", "Pakistan": "Islamabad",
    "Palestine": "Ramallah", "Panama": "Panama City", "Papua New Guinea": "Port Moresby",
    "Paraguay": "Asuncion", "Peru": "Lima", "Philippines": "Manila", "Poland": "Warsaw",
    "Portugal": "Lisbon", "Qatar": "Doha", "Romania": "Bucharest", "Russia": "Moscow",
    "Rwanda": "Kigali", "Saudi Arabia": "Riyadh", "Senegal": "Dakar", "Serbia": "Belgrade",
    "Sierra Leone": "Freetown", "Singapore": "Singapore", "Slovakia": "Bratislava",
    "Slovenia": "Ljubljana", "Somalia": "Mogadishu", "South Africa": "Pretoria",
    "South Korea": "Seoul", "South Sudan": "Juba", "Spain": "Madrid", "Sri Lanka": "Colombo",
    "Sudan": "Khartoum", "Suriname": "Paramaribo", "Sweden": "Stockholm",
    "Switzerland": "Bern", "Syria": "Damascus", "Taiwan": "Taipei", "Tajikistan": "Dushanbe",
    "Tanzania": "Dodoma", "Thailand": "Bangkok", "Togo": "Lome", "Tunisia": "Tunis",
    "Turkey": "Ankara", "Turkmenistan": "Ashgabat", "Uganda": "Kampala", "Ukraine": "Kyiv",
    "United Arab Emirates": "Abu Dhabi", "United Kingdom": "London",
    "United States": "Washington", "Uruguay": "Montevideo", "Uzbekistan": "Tashkent",
    "Vatican": "Vatican City", "Venezuela": "Caracas", "Vietnam": "Hanoi", "Yemen": "Sanaa",
    "Zambia": "Lusaka", "Zimbabwe": "Harare",
}  # fmt: skip

# Other names news uses for a country (matched like the country's own name).
COUNTRY_NAMES: dict[str, str] = {
    "Britain": "United Kingdom", "UK": "United Kingdom", "US": "United States",
    "USA": "United States", "America": "United States", "UAE": "United Arab Emirates",
    "Turkiye": "Turkey", "Czechia": "Czech Republic", "Burma": "Myanmar",
    "DRC": "Democratic Republic of the Congo",
}  # fmt: skip

# Cities news names often that are not capitals but are where talks happen.
OTHER_CITIES = ("Geneva", "Istanbul", "Jeddah", "Dubai", "New York", "Munich", "Davos",
                "Sochi", "Anchorage", "Camp David", "Sharm el-Sheikh")  # fmt: skip

# Regions and territories news names as where a conflict is (proposed as a seed's theatre).
REGIONS = ("Gaza", "Gaza Strip", "West Bank", "East Jerusalem", "Golan Heights", "Sinai",
           "Middle East", "Red Sea", "Black Sea", "Persian Gulf", "Donbas", "Donetsk", "Luhansk",
           "Crimea", "Zaporizhzhia", "Kherson", "Kursk", "Kharkiv", "Balkans", "Caucasus",
           "Nagorno-Karabakh", "Kashmir", "Sahel", "Darfur", "Horn of Africa", "Tigray",
           "South China Sea", "Taiwan Strait", "Korean Peninsula", "Kurdistan", "Idlib",
           "Aleppo", "Rafah", "Khan Younis", "Hebron", "Jenin", "Nablus")  # fmt: skip
