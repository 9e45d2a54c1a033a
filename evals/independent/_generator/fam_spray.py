"""Password spraying."""
from __future__ import annotations

from datetime import timedelta

from alerts import ancestors_for, ecs_host, ecs_winlog, elastic_alert, ocsf_device, ocsf_endpoint, ocsf_finding, ocsf_user, related_event
from common import DOMAIN, NETBIOS
from enterprise import C, U, USERS, hkey, ukey
from scen import MDI, TENZIR, at, desktop_session, fmt, machine_online, net_logon, rdp_session, rec, scenario
from winevt import Events

ES_SEC_INDEX = ".ds-logs-system.security-default-2025.03.10-000014"


def staff_sample(ev, n, exclude=()):
    pool = sorted(u.sam for u in USERS.values() if "OU=STAFF" in u.ou and u.enabled and u.sam not in exclude)
    return ev.rng.sample(pool, n)


def spray_threshold_alert(seed, evs, dc, ip, n, time, field="source.ip", code="4771"):
    e = evs[0]
    src = {"host": ecs_host(dc, C(dc).ip, "Windows Server 2022 Datacenter"), "ecs": {"version": "8.11.0"},
           "event": {"code": code, "category": ["authentication"], "outcome": "failure", "module": "system", "dataset": "system.security"},
           "source": {"ip": ip}}
    return elastic_alert(seed, time, "Potential Password Spraying via Kerberos/NTLM failures",
                         "Detects a single source failing authentication for many distinct user accounts in a short window, the pattern of password spraying.",
                         "high", ["T1110.003"], f"{n} distinct accounts failed authentication from {ip} within 5 minutes.", src, rule_type="threshold",
                         query='event.code:("4771" or "4625" or "4776") and event.outcome:"failure"',
                         ancestors=ancestors_for(evs[:10], ES_SEC_INDEX),
                         original_event={"kind": "event", "module": "system", "outcome": "failure"},
                         extra={"kibana.alert.threshold_result": {"terms": [{"field": field, "value": ip}],
                                                                  "cardinality": [{"field": "user.name", "value": n}], "count": len(evs),
                                                                  "from": (at(time) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")}},
                         false_positives=["Vulnerability scanners performing default-credential checks"])


@scenario
def password_spray_from_claims_laptop():
    sid = "password-spray-from-claims-laptop"
    ev = Events(sid, "2025-03-11 18:00:00", "2025-03-11 20:00:00")
    ev.background(["BOS-LT-1071", "BOS-FS-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("ehayes", "kholm"))
    lap, dc = "BOS-LT-1071", "BOS-ADDS-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-11 18:10:05"), dc=dc)
    lid, ex = desktop_session(ev, lap, "ehayes", at("2025-03-11 18:10:40"))
    ps = ev.proc(lap, at("2025-03-11 19:01:55"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -ep bypass -c \". C:\\Users\\ehayes\\Documents\\dps.ps1; Invoke-DomainPasswordSpray -Password 'Spring2025!' -Force -OutFile C:\\Users\\ehayes\\Documents\\valid.txt\"",
                 ex, user="ehayes", logon_id=lid, integrity="Medium", session="1")
    targets = staff_sample(ev, 37, exclude=("ehayes", "kholm")) + ["kholm"]
    fails = []
    t = at("2025-03-11 19:02:03")
    for k, u in enumerate(targets):
        tt = t + timedelta(seconds=k * 5.7)
        ev.conn(tt, ip, C(dc).ip, 88, service="krb_tcp", ob=ev.rng.randint(300, 340), rb=ev.rng.randint(190, 230))
        if u == "kholm":
            ok = ev.tgt(dc, tt, "kholm", ip)
        else:
            fails.append(ev.preauth_fail(dc, tt, u, ip))
    ev.netconn(lap, t, ps, C(dc).ip, 88)
    ev.file_create(lap, at("2025-03-11 19:05:40"), ps, "C:\\Users\\ehayes\\Documents\\valid.txt")
    li = net_logon(ev, "BOS-FS-01", "kholm", lap, at("2025-03-11 19:09:12"), zeek_bytes=(80_000, 14_500_000))
    sh = ev.share("BOS-FS-01", at("2025-03-11 19:09:13"), "kholm", li["logon"]["logon_id"] if "logon" in li else li["logon_id"], ip, "Finance", "\\??\\D:\\Shares\\Finance")
    ev.finalize()
    alert = spray_threshold_alert(sid, fails, dc, ip, len(fails), "2025-03-11 19:05:35")
    why = (f"From 19:02 to 19:05 UTC {dc} logged {len(fails)} Kerberos pre-authentication failures (4771 0x18, e.g. {rec(fails[0])} ... {rec(fails[-1])}) "
           f"for {len(fails)} different staff accounts from {ip}, one attempt each ~6 s apart, then issued a TGT for kholm from the same address ({rec(ok)}). "
           f"{ip} is {lap} (machine TGT {rec(mt)}), where ehayes ran Invoke-DomainPasswordSpray -Password 'Spring2025!' ({rec(ps)}); at 19:09 kholm's "
           f"account was used from {lap} on BOS-FS-01's Finance share ({rec(sh)}). Successful spray and use of the guessed account.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [hkey(lap), ukey("ehayes"), ukey("kholm"), hkey(dc), hkey("BOS-FS-01")],
              "source": [hkey(lap), ukey("ehayes")], "attack_path": [hkey(lap), ukey("ehayes"), ukey("kholm"), hkey("BOS-FS-01")],
              "impacted_assets": [hkey("BOS-FS-01")], "techniques": ["T1110.003", "T1078.002"],
              "must_not_cite": [ukey("ehayes2"), hkey("BOS-LT-1072"), hkey("BOS-LT-1042")], "why": why}
    return sid, "Password spray from a claims laptop, one account guessed", ev, alert, expect, "tsv"


@scenario
def password_spray_from_scanner_outside_window():
    sid = "password-spray-from-scanner-outside-window"
    ev = Events(sid, "2025-03-12 10:30:00", "2025-03-12 12:00:00")
    ev.background(["BOS-VSCAN-01", "BOS-LT-1077", "BOS-APP-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("rmurphy",))
    scan, lap, dc = "BOS-VSCAN-01", "BOS-LT-1077", "BOS-ADDS-02"
    sip = C(scan).ip
    # last Sunday's documented default-credential checks: local names, non-existent users
    routine = []
    for k, (h, u) in enumerate([("BOS-APP-01", "administrator"), ("BOS-APP-01", "guest"), ("BOS-APP-01", "admin"), ("BOS-APP-03", "test"),
                                ("BOS-APP-03", "root"), ("BOS-APP-03", "administrator")]):
        routine.append(ev.logon_fail(h, at("2025-03-09 02:41:10", seconds=k * 2), u, sip, src_name="BOS-VSCAN-01", domain=h,
                                     sub="0xc0000064" if u not in ("administrator", "guest") else "0xc000006a"))
    mt = machine_online(ev, lap, at("2025-03-12 10:40:00"))
    li, ex = rdp_session(ev, scan, "svc-nessus", lap, at("2025-03-12 11:02:31"), duration=1500)
    ps = ev.proc(scan, at("2025-03-12 11:14:20"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -nop -c \"gc C:\\Users\\svc-nessus\\u.txt | % { $null = (New-Object DirectoryServices.DirectoryEntry('LDAP://BOS-ADDS-02',\"LMI\\$_\",'Winter2025!')).name }\"",
                 ex, user="svc-nessus", logon_id=li["logon_id"], integrity="High", session="2")
    targets = staff_sample(ev, 31)
    fails = []
    for k, u in enumerate(targets):
        tt = at("2025-03-12 11:15:02", seconds=k * 3.1)
        fails.append(ev.logon_fail(dc, tt, u, sip, src_name="BOS-VSCAN-01"))
        ev.ntlm_validate(dc, tt, u, "BOS-VSCAN-01", status="0xc000006a")
        ev.conn(tt, sip, C(dc).ip, 389, service="ldap", ob=ev.rng.randint(600, 700), rb=ev.rng.randint(300, 400))
    ev.finalize()
    alert = spray_threshold_alert(sid, fails, dc, sip, len(fails), "2025-03-12 11:16:40", code="4625")
    rdp = [e for e in ev.win if e["EventID"] == 4624 and e.get("LogonType") == "10" and e["TargetUserName"] == "svc-nessus"][0]
    why = (f"The {len(fails)} failed NTLM logons on {dc} ({rec(fails[0])} ... {rec(fails[-1])}) come from {sip} = BOS-VSCAN-01 with WorkstationName BOS-VSCAN-01, "
           f"but on Wednesday 11:15 UTC, outside the documented Sunday 02:00-05:00 scan window, and against {len(fails)} real staff accounts with one wrong "
           f"password each (SubStatus 0xC000006A). The routine default-credential checks (last Sunday, e.g. {rec(routine[0])}) use local names such as "
           f"administrator/guest/admin. The spray was typed in an interactive RDP session of svc-nessus ({rec(rdp)}) opened from {C(lap).ip} = {lap} "
           f"(machine TGT {rec(mt)}), in which PowerShell bound to LDAP with 'Winter2025!' for each name in u.txt ({rec(ps)}).")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [hkey(scan), ukey("svc-nessus"), hkey(dc), hkey(lap)],
              "source": [hkey(scan), ukey("svc-nessus")], "attack_path": [hkey(lap), ukey("svc-nessus"), hkey(scan)],
              "impacted_assets": [hkey(dc)], "techniques": ["T1110.003"],
              "must_not_cite": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab"), hkey("BOS-LT-1078")], "why": why}
    return sid, "Spray from the scanner host on a Wednesday, typed in an RDP session", ev, alert, expect, "json"


@scenario
def password_spray_nessus_default_credential_checks():
    sid = "password-spray-nessus-default-credential-checks"
    ev = Events(sid, "2025-03-16 02:00:00", "2025-03-16 03:30:00")
    ev.background(["BOS-VSCAN-01", "BOS-APP-01", "BOS-APP-03", "BOS-SQL-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.4)
    scan = "BOS-VSCAN-01"
    sip = C(scan).ip
    prev, fails = [], []
    hosts = ["BOS-APP-01", "BOS-APP-02", "BOS-APP-03", "BOS-APP-04", "BOS-APP-07", "BOS-SQL-01", "BOS-SQL-02", "BOS-FS-01"]
    names = ["administrator", "guest", "admin", "test", "root", "sa", "user", "backup"]
    for day, out in (("2025-03-09 02:40:00", prev), ("2025-03-16 02:40:00", fails)):
        k = 0
        for h in hosts:
            for u in names:
                tt = at(day, seconds=k * 1.3)
                out.append(ev.logon_fail(h, tt, u, sip, src_name="BOS-VSCAN-01", domain=h,
                                         sub="0xc000006a" if u in ("administrator", "guest") else "0xc0000064"))
                k += 1
            ev.conn(at(day, seconds=k * 1.3 - 8), sip, C(h).ip, 445, service="smb,ntlmssp", ob=9100, rb=7400)
    for k, h in enumerate(hosts):
        li = ev.logon(h, at("2025-03-16 02:52:00", seconds=k * 20), "svc-nessus", 3, src_ip=sip)
        ev.logoff(h, at("2025-03-16 02:52:15", seconds=k * 20), "svc-nessus", li["logon_id"])
    ev.finalize()
    alert = ocsf_finding("tz-spray-0316-0241", "2025-03-16 02:42:10", "Password spraying: many accounts failing from one source",
                         f"{len(fails)} failed logons for {len(names)} distinct account names across {len(hosts)} hosts from {sip} in 3 minutes.",
                         "medium", TENZIR, ("sigma-lmi-0113", "Failed logons for many accounts from single source", "Credential Access"), ["T1110.003"],
                         evidences=[{"src_endpoint": ocsf_endpoint(sip, "BOS-VSCAN-01"), "user": ocsf_user(n)} for n in names],
                         related=[related_event(e) for e in fails[:8]], first_seen="2025-03-16 02:40:00", last_seen="2025-03-16 02:41:23",
                         unmapped={"distinct_targets": len(names), "failures": len(fails)})
    why = (f"The failures ({rec(fails[0])} ... {rec(fails[-1])}) are Nessus default-credential checks: local account names (administrator, guest, admin, test, root, "
           f"sa, user, backup) tried against each server's own SAM (TargetDomainName = the server, SubStatus mostly 0xC0000064 'no such user') from {sip} = "
           f"BOS-VSCAN-01 on Sunday 02:40 UTC, inside the documented scan window and scope; the same sequence ran the previous Sunday ({rec(prev[0])}), and the "
           "credentialed svc-nessus logons follow. No domain staff account was targeted.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [hkey(scan), ukey("svc-nessus")] + [hkey(h) for h in hosts[:3]], "source": [hkey(scan), ukey("svc-nessus")],
              "impacted_assets": [], "techniques": ["T1110.003"], "must_not_cite": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab")], "why": why}
    return sid, "Nessus default-credential checks in the Sunday window", ev, alert, expect, "tsv"


@scenario
def password_spray_misfire_stale_service_password():
    sid = "password-spray-misfire-stale-service-password"
    ev = Events(sid, "2025-03-13 13:30:00", "2025-03-13 15:00:00")
    ev.background(["BOS-APP-02"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"])
    app, dc = "BOS-APP-02", "BOS-ADDS-01"
    ip = C(app).ip
    adm = net_logon(ev, dc, "t1_kvance", "BOS-JMP-01", at("2025-03-13 13:39:40"), zeek_port=389, service="ldap", logoff_after=90)
    ch = ev.pw_event(dc, at("2025-03-13 13:40:02"), 4724, "t1_kvance", adm["logon_id"], "svc-sharepoint")
    w3 = ev.sysproc(app, "C:\\Windows\\System32\\inetsrv\\w3wp.exe", 5120, user="svc-sharepoint")
    fails = []
    for k in range(31):
        tt = at("2025-03-13 14:02:00", seconds=k * 9.5)
        fails.append(ev.preauth_fail(dc, tt, "svc-sharepoint", ip))
        ev.conn(tt, ip, C(dc).ip, 88, service="krb_tcp", ob=310, rb=205)
    lock = ev.sec(dc, at("2025-03-13 14:06:49"), 4740, {"TargetUserName": "svc-sharepoint", "TargetDomainName": "BOS-APP-02", "TargetSid": U("svc-sharepoint").sid,
                                                        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "BOS-ADDS-01$", "SubjectDomainName": NETBIOS, "SubjectLogonId": "0x3e7"})
    ev.finalize()
    alert = spray_threshold_alert(sid, fails, dc, ip, 31, "2025-03-13 14:06:55")
    alert["kibana.alert.reason"] = f"31 distinct accounts failed authentication from {ip} within 5 minutes."
    why = (f"All 31 failures from {ip} (= BOS-APP-02, the SharePoint server) are for one account, svc-sharepoint ({rec(fails[0])} ... {rec(fails[-1])}), "
           f"every ~10 s from the IIS worker, starting 22 min after t1_kvance reset that account's password ({rec(ch)}) and ending in a lockout ({rec(lock)}). "
           "The threshold result's 'cardinality 31' is the failure count, not 31 distinct accounts: a service with a stale password, not a spray.")
    expect = {"verdict": "false_positive", "severity": "low",
              "entities": [hkey(app), ukey("svc-sharepoint"), hkey(dc)], "source": [hkey(app), ukey("svc-sharepoint")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-APP-03"), ukey("svc-reporting")], "why": why}
    return sid, "One service account with a stale password reported as a spray", ev, alert, expect, "tsv"
