"""DCSync: attacks, a DC replicating, Entra Connect syncing, and a misfire."""
from __future__ import annotations

from datetime import timedelta

from alerts import (ancestors_for, ecs_host, ecs_winlog, elastic_alert, ocsf_device, ocsf_endpoint, ocsf_finding, ocsf_user,
                    related_event)
from common import DOMAIN, NETBIOS
from enterprise import C, U, hkey, ukey
from scen import MDI, TENZIR, at, desktop_session, fmt, machine_online, net_logon, rec, scenario
from winevt import (DOMAIN_DNS_CLASS, DOMAIN_GUID, REPL_GET_CHANGES, REPL_GET_CHANGES_ALL, REPL_GET_CHANGES_FILTERED,
                    USER_CLASS, PROP_PWD_LAST_SET, PROP_USER_ACCOUNT_RESTRICTIONS, PROP_GENERAL_INFO, Events)

ES_SEC_INDEX = ".ds-logs-system.security-default-2025.03.10-000014"


def dcsync_elastic(seed, ev4662, user, dc, logon_id, time, reason=None):
    src = {"host": ecs_host(dc, C(dc).ip, "Windows Server 2022 Datacenter"),
           "agent": {"type": "filebeat", "version": "8.15.3", "name": dc.lower(), "id": seed[:8] + "-agent"},
           "ecs": {"version": "8.11.0"}, "data_stream": {"namespace": "default", "type": "logs", "dataset": "system.security"},
           "event": {"code": "4662", "provider": "Microsoft-Windows-Security-Auditing", "action": "object-operation-performed",
                     "category": ["iam"], "type": ["admin"], "outcome": "success", "module": "system", "dataset": "system.security"},
           "user": {"name": U(user).sam if not user.endswith("$") else user, "domain": NETBIOS,
                    "id": U(user).sid if not user.endswith("$") else C(user[:-1]).sid},
           "winlog": ecs_winlog(ev4662, {"logon": {"id": logon_id}})}
    return elastic_alert(seed, time, "Potential Credential Access via DCSync",
                         "Identifies when an account that is not a domain controller requests directory replication "
                         "(DS-Replication-Get-Changes-All) from a domain controller, as DCSync tools (Mimikatz, Impacket secretsdump) do.",
                         "critical", ["T1003.006"],
                         reason or f"event with process -, by {user} on {dc.lower()} created critical alert Potential Credential Access via DCSync.",
                         src, rule_type="eql",
                         query='any where event.code == "4662" and winlog.event_data.Properties : ("*1131f6ad-9c07-11d1-f79f-00c04fc2dcd2*", "*DS-Replication-Get-Changes-All*") and not winlog.event_data.SubjectUserName : "*$"',
                         ancestors=ancestors_for([ev4662], ES_SEC_INDEX),
                         original_event={"code": "4662", "action": "object-operation-performed", "kind": "event", "module": "system",
                                         "provider": "Microsoft-Windows-Security-Auditing", "outcome": "success"},
                         false_positives=["Azure AD Connect / Entra Connect sync accounts (MSOL_*)"])


def replicate(ev: Events, dc: str, t, user: str, logon_id: str, all_=True, filtered=False):
    out = [ev.ds_access(dc, t, user, logon_id, [REPL_GET_CHANGES, DOMAIN_DNS_CLASS])]
    if all_:
        out.append(ev.ds_access(dc, t + timedelta(milliseconds=12), user, logon_id, [REPL_GET_CHANGES_ALL, DOMAIN_DNS_CLASS]))
    if filtered:
        out.append(ev.ds_access(dc, t + timedelta(milliseconds=19), user, logon_id, [REPL_GET_CHANGES_FILTERED, DOMAIN_DNS_CLASS]))
    return out


def aadc_sync_cycles(ev: Events, start, end, dc="AZE-ADDS-03", every=30):
    """Entra Connect delta sync: MSOL_ account from AZE-AADC-01 every 30 minutes."""
    t = start
    evs = []
    while t < end:
        li = ev.logon(dc, t, "MSOL_5f3a9c2e81d4", 3, src_ip=C("AZE-AADC-01").ip)
        evs += replicate(ev, dc, t + timedelta(milliseconds=90), "MSOL_5f3a9c2e81d4", li["logon_id"])
        ev.conn(t, C("AZE-AADC-01").ip, C(dc).ip, 49668, service="dce_rpc", ob=ev.rng.randint(5000, 9000), rb=ev.rng.randint(20000, 60000))
        ev.logoff(dc, t + timedelta(seconds=ev.rng.randint(4, 12)), "MSOL_5f3a9c2e81d4", li["logon_id"])
        t += timedelta(minutes=every, seconds=ev.rng.randint(-20, 20))
    return evs


@scenario
def dcsync_tier0_account_from_underwriting_laptop():
    sid = "dcsync-t0-account-from-underwriting-laptop"
    ev = Events(sid, "2025-03-12 20:30:00", "2025-03-12 23:00:00")
    ev.background(["BOS-LT-1033", "BOS-LT-1034", "BOS-PAW-02", "BOS-FS-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], replication=True, skip_users=("cdoyle",))
    lap, dc = "BOS-LT-1033", "BOS-ADDS-01"
    ip = C(lap).ip
    # earlier legitimate tier-0 work from the PAW
    mo = machine_online(ev, "BOS-PAW-02", at("2025-03-12 20:41:10"))
    li0 = net_logon(ev, dc, "t0_dfoley", "BOS-PAW-02", at("2025-03-12 20:44:02"), zeek_port=389, service="ldap", logoff_after=410)
    machine_online(ev, lap, at("2025-03-12 20:35:40"))
    lid, ex = desktop_session(ev, lap, "cdoyle", at("2025-03-12 20:36:05"))
    outlook = ev.proc(lap, at("2025-03-12 20:37:12"), "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"',
                      ex, user="cdoyle", logon_id=lid, integrity="Medium", session="1")
    ps = ev.proc(lap, at("2025-03-12 22:09:31"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 'powershell.exe -nop -w hidden -c "Set-Location $env:TEMP; .\\upd64.exe"', ex, user="cdoyle", logon_id=lid, integrity="Medium", session="1")
    tool = ev.proc(lap, at("2025-03-12 22:13:58"), "C:\\Users\\cdoyle\\AppData\\Local\\Temp\\upd64.exe",
                   '"C:\\Users\\cdoyle\\AppData\\Local\\Temp\\upd64.exe" "kerberos::ptt t0_dfoley.kirbi" "lsadump::dcsync /domain:lmi.intra /user:krbtgt" exit',
                   ps, user="cdoyle", logon_id=lid, integrity="Medium", session="1")
    e4648 = ev.sec(lap, at("2025-03-12 22:14:03"), 4648, {
        "SubjectUserSid": U("cdoyle").sid, "SubjectUserName": "cdoyle", "SubjectDomainName": NETBIOS, "SubjectLogonId": lid,
        "LogonGuid": "{00000000-0000-0000-0000-000000000000}", "TargetUserName": "t0_dfoley", "TargetDomainName": NETBIOS,
        "TargetLogonGuid": "{5d3b1f0a-77c2-4e81-9a44-2b6f1c0d9e31}", "TargetServerName": "BOS-ADDS-01.lmi.intra",
        "TargetInfo": "ldap/BOS-ADDS-01.lmi.intra", "ProcessId": hex(tool["pid"]), "ProcessName": tool["image"], "IpAddress": "-", "IpPort": "-"})
    ev.netconn(lap, at("2025-03-12 22:14:04"), tool, C(dc).ip, 135)
    ev.netconn(lap, at("2025-03-12 22:14:05"), tool, C(dc).ip, 49667)
    li = net_logon(ev, dc, "t0_dfoley", lap, at("2025-03-12 22:14:05"), zeek_port=135, service="dce_rpc", zeek_bytes=(1100, 900))
    ev.conn(at("2025-03-12 22:14:06"), ip, C(dc).ip, 49667, service="dce_rpc", ob=18211, rb=1_284_553, duration=5.82)
    reps = replicate(ev, dc, at("2025-03-12 22:14:07"), "t0_dfoley", li["logon_id"], filtered=True)
    ev.logoff(dc, at("2025-03-12 22:14:19"), "t0_dfoley", li["logon_id"])
    ev.finalize()
    alert = dcsync_elastic(sid, reps[1], "t0_dfoley", dc, li["logon_id"], "2025-03-12 22:14:07")
    tgt = [e for e in ev.win if e["EventID"] == 4768 and e["TargetUserName"] == lap + "$"][0]
    why = (f"On {dc} the 4662 events {rec(reps[0])}/{rec(reps[1])} at 22:14:07 UTC show t0_dfoley exercising DS-Replication-Get-Changes and "
           f"-Get-Changes-All (1131f6aa/1131f6ad) in logon session {li['logon_id']}, which {rec(li['event'])} opened from {ip}; "
           f"{ip} is {lap} (its machine TGT {rec(tgt)}), Connor Doyle's underwriting laptop, not a DC and not dfoley's PAW BOS-PAW-02 "
           f"(used correctly at 20:44). On {lap} a Temp binary upd64.exe run by cdoyle ({rec(tool)}) passed t0_dfoley's ticket "
           f"({rec(e4648)}) and pulled ~1.2 MB over DRSUAPI: a real DCSync with a stolen tier-0 credential.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t0_dfoley"), hkey(dc), DOMAIN, hkey(lap), ukey("cdoyle")],
              "source": [hkey(lap), ukey("t0_dfoley")],
              "attack_path": [hkey(lap), ukey("t0_dfoley"), DOMAIN],
              "impacted_assets": [DOMAIN, hkey(dc)],
              "techniques": ["T1003.006"],
              "must_not_cite": [hkey("BOS-LT-1034"), ukey("cdoyle2"), hkey("BOS-PAW-02")],
              "why": why}
    return sid, "DCSync with a tier-0 admin's ticket from an underwriting laptop", ev, alert, expect, "tsv"


@scenario
def dcsync_entra_connect_account_from_workstation():
    sid = "dcsync-entra-connect-account-from-workstation"
    ev = Events(sid, "2025-03-13 01:30:00", "2025-03-13 04:00:00")
    ev.background(["BOS-LT-1050", "AZE-AADC-01"], dcs=["BOS-ADDS-01", "AZE-ADDS-03"], replication=False, skip_users=("pwalsh",))
    sync = aadc_sync_cycles(ev, at("2025-03-13 01:31:12"), at("2025-03-13 04:00:00"))
    lap, dc = "BOS-LT-1050", "BOS-ADDS-01"
    ip = C(lap).ip
    machine_online(ev, lap, at("2025-03-13 02:58:44"))
    # nobody is logged on interactively at 03:00 local 23:00; a scheduled task started python from ProgramData
    sched = ev.svchost(lap)
    py = ev.proc(lap, at("2025-03-13 03:11:40"), "C:\\ProgramData\\pyenv\\python.exe",
                 "C:\\ProgramData\\pyenv\\python.exe C:\\ProgramData\\pyenv\\sd.py -just-dc -hashes :9d4f2b0c6a1e3d5f7b8a9c0e1d2f3a4b lmi.intra/MSOL_5f3a9c2e81d4@10.40.1.10",
                 sched, user="SYSTEM", integrity="System")
    ev.netconn(lap, at("2025-03-13 03:12:01"), py, C(dc).ip, 135)
    ev.netconn(lap, at("2025-03-13 03:12:02"), py, C(dc).ip, 49667)
    v = ev.ntlm_validate(dc, at("2025-03-13 03:12:01"), "MSOL_5f3a9c2e81d4", lap)
    li = net_logon(ev, dc, "MSOL_5f3a9c2e81d4", lap, at("2025-03-13 03:12:01"), auth="NTLM", zeek_port=135, service="dce_rpc", zeek_bytes=(1020, 840))
    ev.conn(at("2025-03-13 03:12:02"), ip, C(dc).ip, 49667, service="dce_rpc", ob=40133, rb=3_911_270, duration=21.4)
    reps = replicate(ev, dc, at("2025-03-13 03:12:03"), "MSOL_5f3a9c2e81d4", li["logon_id"])
    ev.logoff(dc, at("2025-03-13 03:12:26"), "MSOL_5f3a9c2e81d4", li["logon_id"])
    ev.finalize()
    alert = ocsf_finding(
        "mdi-9a7c4e21-dcsync-0313", "2025-03-13 03:12:40", "Suspected DCSync attack (replication of directory services)",
        f"Replication request was sent from {lap} ({ip}) to {dc} by MSOL_5f3a9c2e81d4. The source is not a domain controller.",
        "high", MDI, ("2006", "Suspected DCSync attack (replication of directory services)", "Credential Access"), ["T1003.006"],
        evidences=[{"actor": {"user": ocsf_user("MSOL_5f3a9c2e81d4", sid=U("MSOL_5f3a9c2e81d4").sid)},
                    "src_endpoint": ocsf_endpoint(ip, lap), "dst_endpoint": ocsf_endpoint(C(dc).ip, f"{dc}.lmi.intra", 49667)}],
        device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip), related=[related_event(e) for e in reps],
        resources=[{"uid": "S-1-5-21-1402291173-3288647205-2611058904", "name": DOMAIN, "type": "Domain"}],
        data_sources=["Network traffic (DRSUAPI)", "Windows Security Event Log"], first_seen="2025-03-13 03:12:02", last_seen="2025-03-13 03:12:26")
    tgt = [e for e in ev.win if e["EventID"] == 4768 and e["TargetUserName"] == lap + "$"][0]
    why = (f"MSOL_5f3a9c2e81d4 really holds replication rights and normally syncs from AZE-AADC-01 ({C('AZE-AADC-01').ip}) to AZE-ADDS-03 every 30 min "
           f"(e.g. {rec(sync[0])}); at 03:12 UTC it replicated GetChanges-All from {dc} ({rec(reps[1])}) over an NTLM logon "
           f"({rec(li['event'])}) from {ip} = {lap} (machine TGT {rec(tgt)}), Peter Walsh's finance laptop. On {lap} a python.exe in "
           f"C:\\ProgramData run by a scheduled task ({rec(py)}) ran secretsdump with the account's hash. Right account, wrong host: "
           "credential theft using a privilege the account legitimately holds.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("MSOL_5f3a9c2e81d4"), hkey(lap), hkey(dc), DOMAIN],
              "source": [hkey(lap), ukey("MSOL_5f3a9c2e81d4")],
              "attack_path": [hkey(lap), ukey("MSOL_5f3a9c2e81d4"), DOMAIN],
              "impacted_assets": [DOMAIN, hkey(dc)], "techniques": ["T1003.006"],
              "must_not_cite": [ukey("MSOL_3b81e07d6a25"), hkey("BOS-AADC-OLD"), hkey("AZE-AADC-01")],
              "why": why}
    return sid, "Entra Connect sync account replicating from a finance laptop", ev, alert, expect, "json"


@scenario
def dcsync_new_azure_dc_replicating():
    sid = "dcsync-new-azure-dc-replicating"
    ev = Events(sid, "2025-03-11 09:00:00", "2025-03-11 11:00:00")
    ev.background(["BOS-FS-01", "BOS-APP-03"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], replication=True)
    dc, src = "BOS-ADDS-01", "AZE-ADDS-03"
    reps_all = []
    t = at("2025-03-11 09:02:31")
    while t < at("2025-03-11 11:00:00"):
        li = ev.logon(dc, t, src + "$", 3, src_ip=C(src).ip, tgs=False)
        reps_all.append((li, replicate(ev, dc, t + timedelta(milliseconds=60), src + "$", li["logon_id"])))
        ev.conn(t, C(src).ip, C(dc).ip, 49667, service="dce_rpc", ob=ev.rng.randint(4000, 9000), rb=ev.rng.randint(9000, 120000))
        ev.logoff(dc, t + timedelta(seconds=3), src + "$", li["logon_id"])
        t += timedelta(minutes=15, seconds=ev.rng.randint(-30, 30))
    ev.finalize()
    li, reps = reps_all[4]
    alert = ocsf_finding(
        "tz-dcsync-allowlist-0311-1003", "2025-03-11 10:03:40", "Directory replication requested by host outside the DC allowlist",
        f"DS-Replication-Get-Changes-All exercised on {dc} by {src}$ from {C(src).ip}; {src} is not in the detection's domain controller allowlist (BOS-ADDS-01, BOS-ADDS-02).",
        "high", TENZIR, ("sigma-lmi-0042", "DCSync from non-allowlisted source", "Credential Access"), ["T1003.006"],
        evidences=[{"actor": {"user": ocsf_user(src + "$", sid=C(src).sid, name=src + "$")}, "src_endpoint": ocsf_endpoint(C(src).ip, src.lower() + ".lmi.intra"),
                    "dst_endpoint": ocsf_endpoint(C(dc).ip, dc.lower() + ".lmi.intra")}],
        device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip), related=[related_event(e) for e in reps],
        unmapped={"rule_allowlist": ["BOS-ADDS-01", "BOS-ADDS-02"], "SubjectLogonId": li["logon_id"]})
    why = (f"The replicating account is the computer account {src}$ from {C(src).ip}; {src} is a member of Domain Controllers and sits in "
           f"OU=Domain Controllers (Azure DC, 'Domain controller, Azure East US 2'), and it replicates with {dc} every ~15 minutes through the whole "
           f"window ({rec(reps_all[0][1][1])} ... {rec(reps_all[-1][1][1])}), exactly like BOS-ADDS-02. The alert's allowlist is simply missing the third DC: "
           "genuine DC-to-DC replication.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey(src), hkey(dc), DOMAIN], "source": [hkey(src)], "impacted_assets": [],
              "techniques": ["T1003.006"], "must_not_cite": [hkey("AZE-AADC-01"), hkey("AZE-APP-01")], "why": why}
    return sid, "A new Azure domain controller replicating with Boston", ev, alert, expect, "tsv"


@scenario
def dcsync_entra_connect_sync_cycle():
    sid = "dcsync-entra-connect-sync-cycle"
    ev = Events(sid, "2025-03-13 13:00:00", "2025-03-13 16:00:00")
    ev.background(["AZE-AADC-01", "AZE-APP-01"], dcs=["AZE-ADDS-03", "BOS-ADDS-01"], replication=False)
    sync = aadc_sync_cycles(ev, at("2025-03-13 13:04:55"), at("2025-03-13 16:00:00"))
    aadc = "AZE-AADC-01"
    miis = ev.sysproc(aadc, "C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\miiserver.exe", 3320, user="MSOL_5f3a9c2e81d4")
    for i in range(0, len(sync), 2):
        e = sync[i]
        ev.netconn(aadc, e["_t"] - timedelta(milliseconds=80), miis, C("AZE-ADDS-03").ip, 49668)
    ev.finalize()
    target = sync[8]
    alert = dcsync_elastic(sid, sync[9], "MSOL_5f3a9c2e81d4", "AZE-ADDS-03", target["SubjectLogonId"], fmt(target["_t"]))
    why = (f"The replication by MSOL_5f3a9c2e81d4 ({rec(sync[9])}) comes from {C(aadc).ip} = {aadc}, the documented Entra Connect server "
           f"(inventory tags sync-account=MSOL_5f3a9c2e81d4, sync-interval=30min), and repeats every ~30 minutes in this window "
           f"({rec(sync[1])}, {rec(sync[3])}, ...) from miiserver.exe. The account's description is the one Entra Connect writes for "
           f"installation 5f3a9c2e... on AZE-AADC-01, and the domain ACL grants it GetChanges/GetChangesAll: expected directory sync.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("MSOL_5f3a9c2e81d4"), hkey(aadc), hkey("AZE-ADDS-03"), DOMAIN],
              "source": [hkey(aadc), ukey("MSOL_5f3a9c2e81d4")], "impacted_assets": [], "techniques": ["T1003.006"],
              "must_not_cite": [ukey("MSOL_3b81e07d6a25"), hkey("BOS-AADC-OLD")], "why": why}
    return sid, "Entra Connect delta sync flagged as DCSync", ev, alert, expect, "json"


@scenario
def dcsync_misfire_mim_attribute_reads():
    sid = "dcsync-misfire-mim-attribute-reads"
    ev = Events(sid, "2025-03-14 13:30:00", "2025-03-14 15:00:00")
    ev.background(["BOS-APP-04", "BOS-FS-01"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"], replication=True)
    dc, app = "BOS-ADDS-02", "BOS-APP-04"
    reads = []
    for k, t0 in enumerate(["2025-03-14 13:35:02", "2025-03-14 14:05:03", "2025-03-14 14:35:01"]):
        li = net_logon(ev, dc, "svc-iamsync", app, at(t0), zeek_port=389, service="ldap", zeek_bytes=(22000, 310000), logoff_after=44)
        for j in range(4):
            sam = ev.rng.choice(["hpark", "nlarsen", "acosta", "vortiz", "rmurphy", "jlynch"])
            reads.append(ev.ds_access(dc, at(t0, seconds=2 + j * 3), "svc-iamsync", li["logon_id"],
                                      [PROP_USER_ACCOUNT_RESTRICTIONS, PROP_PWD_LAST_SET, PROP_GENERAL_INFO, USER_CLASS],
                                      access_mask="0x10", access_list="%%7684\r\n\t\t\t\t", object_type="%{" + USER_CLASS + "}",
                                      object_name="%{" + U(sam).sid[-4:] + "a1c3-5e7f-4b2d-9c8a-" + U(sam).sid[-12:].replace("-", "0") + "}"))
    ev.finalize()
    tgt = reads[5]
    alert = ocsf_finding(
        "tz-dcsync-0314-1405", "2025-03-14 14:05:30", "DCSync: replication rights exercised by a user account",
        f"svc-iamsync exercised DS-Replication-Get-Changes-All (1131f6ad-9c07-11d1-f79f-00c04fc2dcd2) on {dc} (logon {tgt['SubjectLogonId']}).",
        "critical", TENZIR, ("sigma-lmi-0041", "DCSync by non-machine account", "Credential Access"), ["T1003.006"],
        evidences=[{"actor": {"user": ocsf_user("svc-iamsync", sid=U("svc-iamsync").sid)}, "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
        device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip), related=[related_event(tgt)],
        unmapped={"AccessMask": "0x100", "Properties": "{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}", "SubjectLogonId": tgt["SubjectLogonId"]})
    why = (f"The 4662 events by svc-iamsync on {dc} (e.g. {rec(tgt)} at 14:05) have AccessMask 0x10 (Read Property, %%7684) on user objects "
           "with property sets User-Account-Restrictions/pwdLastSet/General-Information; none carries Control Access 0x100 or the replication "
           "GUIDs 1131f6aa/1131f6ad the alert quotes, and svc-iamsync holds no replication right in the domain ACL. These are MIM's half-hourly "
           f"attribute reads from {app}: no replication happened, the detection misread the event.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("svc-iamsync"), hkey(dc), hkey(app)], "source": [hkey(app), ukey("svc-iamsync")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [ukey("MSOL_5f3a9c2e81d4"), hkey("BOS-APP-03")], "why": why}
    return sid, "MIM attribute reads reported as DCSync", ev, alert, expect, "tsv"
