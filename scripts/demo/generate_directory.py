#!/usr/bin/env python3
"""Generate scripts/demo/directory.json, the demo directory of contoso.com.

Deterministic: fixed name lists, no randomness, so running it again gives the
same file byte for byte. Python 3 standard library only.

    python3 scripts/demo/generate_directory.py            # rewrites directory.json beside this script
    python3 scripts/demo/generate_directory.py -o FILE    # writes FILE instead ("-" = stdout)

The format is the directory document of docs/formats.md (Import-CsAdPrincipal).
"""

import argparse
import json
import os
import sys

DOMAIN_DN = "DC=contoso,DC=com"
SIP_DOMAIN = "contoso.com"
FE_DUBLIN = "fe01.contoso.com"
FE_OSLO = "fe02.contoso.com"


def ou(*names):
    """OU DN from the innermost name outwards: ou("Payroll", "Finance")."""
    return ",".join("OU=" + n for n in names) + "," + DOMAIN_DN


OU_FINANCE = ou("Finance")
OU_PAYROLL = ou("Payroll", "Finance")
OU_SALES = ou("Sales")
OU_IT = ou("IT")
OU_OSLO = ou("Oslo")
OU_DUBLIN = ou("Dublin")
OU_MARKETING = ou("Marketing")
OU_ENGINEERING = ou("Engineering")
CN_USERS = "CN=Users," + DOMAIN_DN

# Parents before children.
OUS = [OU_FINANCE, OU_SALES, OU_IT, OU_OSLO, OU_DUBLIN, OU_MARKETING, OU_ENGINEERING, OU_PAYROLL]
CONTAINERS = [CN_USERS]

# Fixed name lists (none of them clash with the named users below).
FIRST_NAMES = [
    "Aaron", "Abigail", "Adrian", "Agnes", "Alan", "Alice", "Amelia", "Andrew",
    "Astrid", "Beatrice", "Bjorn", "Brian", "Caitlin", "Carl", "Celia", "Ciaran",
    "Claire", "Conor", "Daniel", "Deirdre", "Dmitri", "Eamon", "Edith", "Eileen",
    "Elena", "Emil", "Erik", "Fiona", "Frida", "Gemma", "George", "Grace",
    "Hakon", "Helen", "Henrik", "Ida", "Ingrid", "Isaac", "Jonas", "Julia",
    "Karin", "Kevin", "Lars", "Laura", "Liam", "Linnea", "Magnus", "Maeve",
    "Marta", "Niamh", "Nils", "Oisin", "Olga", "Oscar", "Patrick", "Ragnhild",
    "Rory", "Sara", "Sean", "Sigrid", "Siobhan", "Solveig", "Thomas", "Tove",
    "Una", "Victor", "Wenche", "Yusuf",
]
LAST_NAMES = [
    "Andersen", "Barry", "Berg", "Brennan", "Byrne", "Carroll", "Dahl", "Doyle",
    "Eriksen", "Farrell", "Fitzgerald", "Foley", "Gallagher", "Haugen", "Hansen", "Healy",
    "Johansen", "Kavanagh", "Keane", "Kristiansen", "Larsen", "Lynch", "Moen", "Murphy",
    "Nolan", "Nilsen", "Olsen", "Pedersen", "Quinn", "Reilly", "Solberg", "Strand",
    "Sweeney", "Tobin", "Ulriksen", "Walsh", "Whelan", "Wik",
]

TITLES = {
    "Finance": ["Accountant", "Financial Analyst", "Controller", "Accounts Payable Clerk", "Auditor"],
    "Sales": ["Account Executive", "Sales Representative", "Sales Engineer", "Account Manager"],
    "IT": ["Systems Administrator", "Network Engineer", "Support Technician", "Database Administrator"],
    "Marketing": ["Marketing Specialist", "Content Writer", "Brand Manager", "Event Coordinator"],
    "Engineering": ["Software Engineer", "Senior Software Engineer", "Test Engineer", "Engineering Manager"],
    "Operations": ["Operations Analyst", "Facilities Coordinator", "Logistics Planner"],
    "HR": ["HR Generalist", "Recruiter", "HR Business Partner"],
    "Legal": ["Counsel", "Paralegal", "Compliance Officer"],
}
# Departments handed out in turn to users of the site OUs (Oslo, Dublin) and CN=Users.
VARIED_DEPARTMENTS = ["Sales", "Engineering", "Marketing", "IT", "Finance", "Operations", "HR", "Legal"]

# Number of generated users per OU/container (the named users come on top).
GENERATED = [
    # (parent DN, count, department or None for varied, locality rule)
    (OU_FINANCE, 36, "Finance", "dublin"),
    (OU_PAYROLL, 10, "Finance", "dublin"),
    (OU_SALES, 46, "Sales", "mostly-dublin"),
    (OU_IT, 30, "IT", "dublin"),
    (OU_OSLO, 45, None, "oslo"),
    (OU_DUBLIN, 44, None, "dublin"),
    (OU_MARKETING, 30, "Marketing", "mostly-dublin"),
    (OU_ENGINEERING, 45, "Engineering", "mostly-dublin"),
    (CN_USERS, 5, None, "dublin"),
]
# In the "mostly-dublin" OUs every OSLO_EVERY-th generated user works in Oslo.
OSLO_EVERY = 7

# The users the reference's examples and the tests name. sam=None is impossible; sip=False means not SIP-enabled.
NAMED_USERS = [
    # display name, sam, parent, department, title, locality, SIP-enabled
    ("Ann Beebe", "annb", OU_FINANCE, "Finance", "Finance Manager", "Dublin", True),
    ("Bob Kelly", "bobk", OU_FINANCE, "Finance", "Accountant", "Dublin", True),
    ("Temp User", "tempuser", OU_FINANCE, "Finance", "Temporary Contractor", "Dublin", True),
    ("Ken Myer", "kenmyer", OU_SALES, "Sales", "Sales Manager", "Dublin", True),
    ("Pilar Ackerman", "pilar", OU_SALES, "Sales", "Account Executive", "Dublin", True),
    ("Chris Executive", "ceo", OU_DUBLIN, "Executive", "CEO", "Dublin", True),
    ("Health Watch 1", "watch1", OU_IT, "IT", "Health Monitoring Account", "Dublin", True),
    ("Health Watch 2", "watch2", OU_IT, "IT", "Health Monitoring Account", "Dublin", True),
    ("Nora NoSip", "nora", OU_IT, "IT", "Systems Administrator", "Dublin", False),
]

# Named users with Enterprise Voice and a phone number.
VOICE_USERS = {
    "annb": "tel:+35315550101",
    "bobk": "tel:+35315550102",
    "kenmyer": "tel:+35315550110",
    "pilar": "tel:+35315550111",
    "ceo": "tel:+35315550100",
}

CONTACTS = [
    ("Lobby Kiosk", OU_DUBLIN, "sip:LobbyKiosk@contoso.com"),
    ("Board Room", OU_FINANCE, "sip:board@contoso.com"),
]


def name_stream():
    """Every (first, last) pair once, in a fixed order that mixes both lists."""
    nf, nl = len(FIRST_NAMES), len(LAST_NAMES)
    for k in range(nf * nl):
        # Walk diagonals so that consecutive users differ in both names.
        first = FIRST_NAMES[k % nf]
        last = LAST_NAMES[(k + k // nf) % nl]
        yield first, last


def make_user(display, sam, parent, department, title, locality, sip_enabled):
    user = {
        "Type": "User",
        "Dn": "CN=%s,%s" % (display, parent),
        "DisplayName": display,
    }
    if sip_enabled:
        user["SipAddress"] = "sip:%s@%s" % (sam, SIP_DOMAIN)
    user["SamAccountName"] = sam
    user["UserPrincipalName"] = "%s@%s" % (sam, SIP_DOMAIN)
    user["Department"] = department
    user["Title"] = title
    user["l"] = locality
    if sip_enabled:
        user["RegistrarPool"] = FE_OSLO if locality == "Oslo" else FE_DUBLIN
    if sam in VOICE_USERS:
        user["EnterpriseVoiceEnabled"] = True
        user["LineURI"] = VOICE_USERS[sam]
    return user


def build():
    taken_sams = {u[1] for u in NAMED_USERS}
    taken_names = {u[0] for u in NAMED_USERS} | {c[0] for c in CONTACTS}
    names = name_stream()
    users_by_parent = {}

    def add(parent, user):
        users_by_parent.setdefault(parent, []).append(user)

    for display, sam, parent, dept, title, loc, sip in NAMED_USERS:
        add(parent, make_user(display, sam, parent, dept, title, loc, sip))

    varied_turn = 0
    generated_by_parent = {}
    for parent, count, dept, loc_rule in GENERATED:
        for i in range(count):
            while True:
                first, last = next(names)
                display = "%s %s" % (first, last)
                if display not in taken_names:
                    break
            taken_names.add(display)
            base = (first[0] + last).lower()  # e.g. abrennan
            sam, n = base, 2
            while sam in taken_sams:
                sam, n = "%s%d" % (base, n), n + 1
            taken_sams.add(sam)
            if dept is None:
                department = VARIED_DEPARTMENTS[varied_turn % len(VARIED_DEPARTMENTS)]
                varied_turn += 1
            else:
                department = dept
            titles = TITLES[department]
            title = titles[i % len(titles)]
            if loc_rule == "oslo":
                locality = "Oslo"
            elif loc_rule == "mostly-dublin" and i % OSLO_EVERY == OSLO_EVERY - 1:
                locality = "Oslo"
            else:
                locality = "Dublin"
            user = make_user(display, sam, parent, department, title, locality, True)
            add(parent, user)
            generated_by_parent.setdefault(parent, []).append(user)

    def dns(users):
        return [u["Dn"] for u in users]

    def named(display):
        for users in users_by_parent.values():
            for u in users:
                if u["DisplayName"] == display:
                    return u["Dn"]
        raise KeyError(display)

    fin = generated_by_parent[OU_FINANCE]
    it = generated_by_parent[OU_IT]
    helpdesk_dn = "CN=HelpDeskTier2," + OU_IT
    groups = [
        ("FinanceChat", OU_FINANCE, [named("Ann Beebe"), named("Bob Kelly")] + dns(fin[:12])),
        ("FinanceLeads", OU_FINANCE, [named("Ann Beebe")] + dns(fin[:2])),
        ("HelpDeskTier2", OU_IT, dns(it[10:14])),
        ("ChatSupportGroup", OU_IT, dns(it[:10]) + [helpdesk_dn]),
        ("AllSales", OU_SALES, dns(users_by_parent[OU_SALES])),
    ]

    principals = []
    for dn in OUS:
        principals.append({"Type": "OrganizationalUnit", "Dn": dn})
    for dn in CONTAINERS:
        principals.append({"Type": "Container", "Dn": dn})
    for parent in OUS + CONTAINERS:
        principals.extend(users_by_parent.get(parent, []))
    for display, parent, sip in CONTACTS:
        principals.append({"Type": "Contact", "Dn": "CN=%s,%s" % (display, parent),
                           "DisplayName": display, "SipAddress": sip})
    for name, parent, members in groups:
        principals.append({"Type": "Group", "Dn": "CN=%s,%s" % (name, parent),
                           "DisplayName": name, "SamAccountName": name, "Members": members})

    roles = [
        {"Identity": "FinanceChatAdmins",
         "Cmdlets": ["Get-CsPersistentChatRoom", "Set-CsPersistentChatRoom", "Get-CsPersistentChatCategory"],
         "UserScopes": ["OU:" + OU_FINANCE]},
        {"Identity": "RedmondVoiceAdministrators",
         "Cmdlets": ["Get-CsService", "Get-CsUser"],
         "UserScopes": ["OU:" + OU_OSLO]},
    ]
    doc = {
        "Domain": {"Name": "contoso.com", "NetBiosName": "contoso", "Dn": DOMAIN_DN},
        "Principals": principals,
        "Roles": roles,
    }
    check(doc)
    return doc


def check(doc):
    """Self-check: unique DNs, SIP addresses and SamAccountNames; every member exists."""
    dns, sips, sams = set(), set(), set()
    for p in doc["Principals"]:
        for key, seen in (("Dn", dns), ("SipAddress", sips), ("SamAccountName", sams)):
            if key in p:
                v = p[key].lower()
                assert v not in seen, "duplicate %s %s" % (key, p[key])
                seen.add(v)
    for p in doc["Principals"]:
        for m in p.get("Members", []):
            assert m.lower() in dns, "dangling member %s of %s" % (m, p["Dn"])


def render(doc):
    """Pretty at the top, one principal per line: readable and diff-friendly."""
    def one(v):
        return json.dumps(v, ensure_ascii=False)

    lines = ["{", '  "Domain": %s,' % one(doc["Domain"]), '  "Principals": [']
    ps = doc["Principals"]
    for i, p in enumerate(ps):
        lines.append("    %s%s" % (one(p), "," if i + 1 < len(ps) else ""))
    lines.append("  ],")
    lines.append('  "Roles": [')
    rs = doc["Roles"]
    for i, r in enumerate(rs):
        lines.append("    %s%s" % (one(r), "," if i + 1 < len(rs) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=os.path.join(here, "directory.json"))
    args = ap.parse_args()
    text = render(build())
    json.loads(text)  # the renderer must produce valid JSON
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)


if __name__ == "__main__":
    main()
