"""Port scans, logons from unusual sources, scheduled-task persistence."""
from __future__ import annotations

from datetime import timedelta

from alerts import (SECURITY_INDEX, ancestors_for, ecs_from_security, elastic_alert, ocsf_device, ocsf_endpoint, ocsf_finding, ocsf_user,
                    related_event)
from common import DOMAIN, NETBIOS
from enterprise import C, COMPUTERS, U, IP_OF, HOST_BY_IP, hkey, ukey
from scen import CORELIGHT, TENZIR, at, desktop_session, fmt, machine_online, net_logon, rec, scenario
from winevt import Events
import base

SCAN_PORTS = [22, 80, 135, 139, 443, 445, 1433, 3389, 5985, 8080]


def open_ports(ip):
    h = HOST_BY_IP.get(ip)
    if not h or h not in COMPUTERS:
        return set()
    c = C(h)
    ports = base.PORTS["dc"] if c.is_dc else base.PORTS["srv"]
    ports = list(ports) + base.PORTS.get(c.role, [])
    return {p[0] for p in ports} | ({139} if c.role != "web" else set())


def sweep(ev, src_ip, start, subnet="10.40.16", hosts=range(1, 90), ports=SCAN_PORTS, rate=0.02, jitter=0.005):
    out = []
    t = ev._t(start)
    for h in hosts:
        ip = f"{subnet}.{h}"
        op = open_ports(ip)
        up = ip in HOST_BY_IP
        for p in ports:
            t += timedelta(seconds=rate + ev.rng.uniform(0, jitter))
            if not up:
                st, hist = "S0", "S"
            elif p in op:
                st, hist = "RSTO", "ShR"
            else:
                st, hist = "REJ", "Sr"
            z = ev.conn(t, src_ip, ip, p, state=st, history=hist, ob=0, rb=0, duration=0.000412 if st != "S0" else None)
            if st == "RSTO":
                z["orig_pkts"], z["orig_ip_bytes"], z["resp_pkts"], z["resp_ip_bytes"] = 2, 84, 1, 44
            out.append(z)
    return out


def scan_alert(uid, time, src_ip, zs, title="Port scan detected", desc=None, sev="medium"):
    hosts = len({z["id.resp_h"] for z in zs})
    ports = len({z["id.resp_p"] for z in zs})
    return ocsf_finding(uid, time, title, desc or f"{src_ip} probed {ports} ports on {hosts} hosts in {(zs[-1]['ts'] - zs[0]['ts']):.0f} s ({len(zs)} connection attempts).",
                        sev, CORELIGHT, ("corelight-scan", "Address and port scan", "Discovery"), ["T1046"],
                        evidences=[{"src_endpoint": ocsf_endpoint(src_ip), "connection_info": {"protocol_name": "tcp", "direction": "Lateral", "direction_id": 3}}],
                        data_sources=["Zeek conn.log"], unmapped={"hosts": hosts, "ports": ports, "attempts": len(zs), "sample_uids": [z["uid"] for z in zs[:5]]})


@scenario
def port_scan_from_claims_laptop():
    sid = "port-scan-from-claims-laptop"
    ev = Events(sid, "2025-03-14 17:30:00", "2025-03-14 19:00:00")
    ev.background(["BOS-LT-1046"], density=0.4, skip_users=("mnovak",))
    lap = "BOS-LT-1046"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-14 17:40:00"))
    lid, ex = desktop_session(ev, lap, "mnovak", at("2025-03-14 17:40:30"))
    cmd = ev.proc(lap, at("2025-03-14 18:19:30"), "C:\\Windows\\System32\\cmd.exe", "\"C:\\Windows\\system32\\cmd.exe\"", ex, user="mnovak", logon_id=lid,
                  integrity="Medium", session="1")
    nm = ev.proc(lap, at("2025-03-14 18:20:01"), "C:\\Users\\mnovak\\Downloads\\nmap-7.95\\nmap.exe",
                 "nmap.exe -sS -Pn -T4 -p 22,80,135,139,443,445,1433,3389,5985,8080 10.40.16.0/24 -oA C:\\Users\\mnovak\\Downloads\\s16",
                 cmd, user="mnovak", logon_id=lid, integrity="High", session="1")
    zs = sweep(ev, ip, at("2025-03-14 18:20:03"))
    ev.finalize()
    alert = scan_alert("cl-scan-0314-1822", "2025-03-14 18:22:30", ip, zs)
    why = (f"Zeek records {len(zs)} connection attempts from {ip} to 10.40.16.1-89 on ten admin and database ports in under two minutes ({zs[0]['uid']} ...), "
           f"half-open RSTO on open ports and REJ/S0 elsewhere - a SYN scan. {ip} is {lap} (machine TGT {rec(mt)}), where mnovak, a claims handler with no IT "
           f"role, ran nmap -sS ... 10.40.16.0/24 from Downloads ({rec(nm)}). Only BOS-VSCAN-01 is authorised to scan, on Sundays.")
    expect = {"verdict": "true_positive", "severity": "medium",
              "entities": [hkey(lap), ukey("mnovak")], "source": [hkey(lap), ukey("mnovak")], "techniques": ["T1046"],
              "must_not_cite": [hkey("BOS-VSCAN-01"), hkey("BOS-LT-1047")], "why": why}
    return sid, "nmap SYN scan of the server subnet from a claims laptop", ev, alert, expect, "tsv"


@scenario
def port_scan_lab_scanner_on_production():
    sid = "port-scan-lab-scanner-on-production"
    ev = Events(sid, "2025-03-16 02:00:00", "2025-03-16 03:30:00")
    ev.background(["BOS-VSCAN-01", "BOS-VSCAN-02"], density=0.3)
    real = sweep(ev, C("BOS-VSCAN-01").ip, at("2025-03-16 02:05:00"), hosts=range(20, 60))
    lab = C("BOS-VSCAN-02").ip
    zs = sweep(ev, lab, at("2025-03-16 02:31:10"))
    logons = []
    for k, h in enumerate(["BOS-APP-01", "BOS-APP-03", "BOS-SQL-01", "BOS-FS-02"]):
        li = ev.logon(h, at("2025-03-16 02:36:00", seconds=k * 25), "svc-nessus-lab", 3, src_ip=lab)
        logons.append(li)
        ev.share(h, at("2025-03-16 02:36:01", seconds=k * 25), "svc-nessus-lab", li["logon_id"], lab, "IPC$", "")
        ev.conn(at("2025-03-16 02:36:00", seconds=k * 25), lab, C(h).ip, 445, service="smb,gssapi", ob=9000, rb=12000)
        ev.logoff(h, at("2025-03-16 02:36:20", seconds=k * 25), "svc-nessus-lab", li["logon_id"])
    ev.finalize()
    alert = scan_alert("cl-scan-0316-0233", "2025-03-16 02:33:20", lab, zs)
    why = (f"The Sunday 02:00-05:00 window is authorised for BOS-VSCAN-01 (10.40.8.30), whose scan ran at 02:05 ({real[0]['uid']} ...). The alerted scan comes from "
           f"{lab} = BOS-VSCAN-02, the lab scanner whose description and tags restrict it to 10.40.200.0/24 and forbid production scans; it swept 10.40.16.0/24 "
           f"({zs[0]['uid']} ...) and then logged on to production servers with svc-nessus-lab ({rec(logons[0]['event'])} ...), an account documented as lab-only. "
           "Right time, wrong scanner and scope.")
    expect = {"verdict": "true_positive", "severity": "medium",
              "entities": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab")], "source": [hkey("BOS-VSCAN-02"), ukey("svc-nessus-lab")], "techniques": ["T1046"],
              "must_not_cite": [hkey("BOS-VSCAN-01"), ukey("svc-nessus")], "why": why}
    return sid, "Lab scanner sweeps production in the production scan window", ev, alert, expect, "json"


@scenario
def port_scan_nessus_weekly():
    sid = "port-scan-nessus-weekly"
    ev = Events(sid, "2025-03-16 02:00:00", "2025-03-16 03:00:00")
    ev.background(["BOS-VSCAN-01"], density=0.3)
    sip = C("BOS-VSCAN-01").ip
    prev = sweep(ev, sip, at("2025-03-09 02:06:10"), hosts=range(1, 60))
    zs = sweep(ev, sip, at("2025-03-16 02:05:02"), hosts=range(1, 60))
    ev.finalize()
    alert = scan_alert("cl-scan-0316-0207", "2025-03-16 02:07:30", sip, zs)
    why = (f"The scan ({zs[0]['uid']} ...) comes from {sip} = BOS-VSCAN-01, the production Nessus scanner, at 02:05 on Sunday 16 March: the scanner's description and "
           f"inventory tags document a weekly scan Sundays 02:00-05:00 UTC of 10.40.0.0/16, and the same sweep ran at 02:06 the previous Sunday ({prev[0]['uid']}).")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey("BOS-VSCAN-01")], "source": [hkey("BOS-VSCAN-01")], "impacted_assets": [], "techniques": ["T1046"],
              "must_not_cite": [hkey("BOS-VSCAN-02")], "why": why}
    return sid, "Weekly Nessus scan of the server subnet", ev, alert, expect, "tsv"


@scenario
def port_scan_misfire_sql_client():
    sid = "port-scan-misfire-sql-client"
    ev = Events(sid, "2025-03-13 13:00:00", "2025-03-13 14:30:00")
    ev.background(["BOS-LT-1058", "BOS-SQL-01"], density=0.5, skip_users=("hpark",))
    lap, sql = "BOS-LT-1058", "BOS-SQL-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 13:05:00"))
    lid, ex = desktop_session(ev, lap, "hpark", at("2025-03-13 13:05:30"))
    ss = ev.proc(lap, at("2025-03-13 13:41:00"), "C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe",
                 "\"C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 19\\Common7\\IDE\\Ssms.exe\"", ex, user="hpark", logon_id=lid,
                 integrity="Medium", session="1")
    zs = []
    for k in range(4):
        t = at("2025-03-13 13:41:20", seconds=k * 95)
        zs.append(ev.conn(t, ip, C(sql).ip, 1433, service="-", ob=ev.rng.randint(20_000, 90_000), rb=ev.rng.randint(200_000, 4_000_000), duration=round(ev.rng.uniform(20, 80), 3)))
        ev.netconn(lap, t, ss, C(sql).ip, 1433)
    ev.finalize()
    alert = scan_alert("cl-scan-0313-1345", "2025-03-13 13:45:30", ip, zs, title="Vertical port scan of a database server",
                       desc=f"{ip} probed 1,000 TCP ports on {sql} ({C(sql).ip}) in 40 seconds.")
    why = (f"Zeek has only four connections from {ip} to {C(sql).ip}, all to 1433, all established (SF) and lasting 20-80 s with result sets returned "
           f"({zs[0]['uid']} ...); Sysmon attributes them to SSMS run by hpark on {lap} (machine TGT {rec(mt)}). There are no probes of other ports: the 1,000-port "
           "scan the alert claims is not in the data.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(lap), hkey(sql), ukey("hpark")], "source": [hkey(lap), ukey("hpark")], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("BOS-SQL-11"), hkey("BOS-LT-1059")], "why": why}
    return sid, "SSMS queries reported as a vertical port scan", ev, alert, expect, "tsv"


# --------------------------------------------------------------------------------------------- unusual sources
def new_terms_logon_alert(sid, e, user, ip, note, extra_fields=None, sev="medium"):
    src = ecs_from_security(e, action="logged-in")
    if extra_fields:
        src.update(extra_fields)
    return elastic_alert(sid, fmt(e["_t"]), "Unusual source for account logon", "New terms: a successful logon for an account from a source address or "
                         "host not seen for that account in the last 30 days.", sev, ["T1078.002"], note, src, rule_type="new_terms",
                         query='event.code:"4624" and winlog.logon.type:("Network" or "RemoteInteractive")', ancestors=ancestors_for([e], SECURITY_INDEX),
                         original_event={"code": "4624", "action": "logged-in", "kind": "event", "module": "system"},
                         extra={"kibana.alert.new_terms": [ip]})


@scenario
def logon_from_non_domain_device_over_vpn():
    sid = "logon-from-non-domain-device-over-vpn"
    ev = Events(sid, "2025-03-15 02:30:00", "2025-03-15 04:00:00")
    ev.background(["BOS-FS-01"], density=0.4, skip_users=("mokafor",))
    fs, dc = "BOS-FS-01", "BOS-ADDS-01"
    own = "BOS-LT-1044"
    prev_t = machine_online(ev, own, at("2025-03-14 13:02:11"), ip="10.99.0.87", dc=dc)
    prev = ev.logon(fs, at("2025-03-14 13:10:40"), "mokafor", 3, src_ip="10.99.0.87", dc=dc)
    vpn = "10.99.0.144"
    v = ev.ntlm_validate(dc, at("2025-03-15 03:20:12"), "mokafor", "DESKTOP-7H2K9QF")
    li = ev.logon(fs, at("2025-03-15 03:20:12"), "mokafor", 3, src_ip=vpn, src_name="DESKTOP-7H2K9QF", auth="NTLM")
    ev.conn(at("2025-03-15 03:20:11"), vpn, C(fs).ip, 445, service="smb,ntlmssp", ob=61_000, rb=412_880_114, duration=1310.0)
    ev.share(fs, at("2025-03-15 03:20:12.300"), "mokafor", li["logon_id"], vpn, "Finance", "\\??\\D:\\Shares\\Finance")
    reads = []
    for k in range(24):
        reads.append(ev.share_file(fs, at("2025-03-15 03:20:40", seconds=k * 48), "mokafor", li["logon_id"], vpn, "Finance", "\\??\\D:\\Shares\\Finance",
                                   f"Payroll\\2025\\payroll_{(k % 12) + 1:02d}_{'BOS' if k < 12 else 'PVD'}.xlsx", access="0x120089"))
    ev.finalize()
    alert = new_terms_logon_alert(sid, li["event"], "mokafor", vpn, f"mokafor logged on to bos-fs-01 from new source {vpn} (DESKTOP-7H2K9QF).", sev="high")
    why = (f"mokafor's logon to {fs} at 03:20 UTC Saturday ({rec(li['event'])}) is NTLM from {vpn} with WorkstationName DESKTOP-7H2K9QF (also in the DC's 4776, "
           f"{rec(v)}); no computer account of that name exists in LMI.INTRA and no machine TGT was issued to {vpn}. Her real VPN sessions come from her domain "
           f"laptop {own}, which gets a Kerberos machine TGT from its VPN address ({rec(prev_t)} from 10.99.0.87, Friday) and logs on with Kerberos ({rec(prev['event'])}). "
           f"The unknown device then read 24 payroll workbooks from the Finance share ({rec(reads[0])} ...), ~410 MB: her credential in use from an unmanaged machine.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("mokafor"), hkey(fs), vpn], "source": [vpn, ukey("mokafor")], "attack_path": [vpn, ukey("mokafor"), hkey(fs)],
              "impacted_assets": [hkey(fs)], "techniques": ["T1078.002"], "must_not_cite": [hkey(own), hkey("BOS-LT-1045")], "why": why}
    return sid, "Finance user's credential used from an unmanaged device over VPN", ev, alert, expect, "tsv"


@scenario
def tier0_logon_from_rogue_device_in_paw_subnet():
    sid = "tier0-logon-from-rogue-device-in-paw-subnet"
    ev = Events(sid, "2025-03-13 20:30:00", "2025-03-13 22:00:00")
    ev.background(["BOS-PAW-04"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.5, skip_users=("aperez",))
    dc = "BOS-ADDS-01"
    paw = machine_online(ev, "BOS-PAW-04", at("2025-03-13 20:35:00"))
    rogue = "10.40.9.15"
    v = ev.ntlm_validate(dc, at("2025-03-13 21:12:30"), "t0_aperez", "BOS-PAW-05")
    li = ev.logon(dc, at("2025-03-13 21:12:30"), "t0_aperez", 3, src_ip=rogue, src_name="BOS-PAW-05", auth="NTLM")
    ev.conn(at("2025-03-13 21:12:29"), rogue, C(dc).ip, 445, service="smb,ntlmssp", ob=8100, rb=11900, duration=42.0)
    sh = ev.share(dc, at("2025-03-13 21:12:31"), "t0_aperez", li["logon_id"], rogue, "C$", "\\??\\C:\\")
    ev.finalize()
    alert = new_terms_logon_alert(sid, li["event"], "t0_aperez", rogue, f"t0_aperez logged on to bos-adds-01 from new source {rogue} (BOS-PAW-05).", sev="high")
    why = (f"The tier-0 logon ({rec(li['event'])}) claims WorkstationName BOS-PAW-05 from {rogue} inside the PAW subnet, but the directory only has BOS-PAW-01..04 "
           f"(no computer object BOS-PAW-05), no machine TGT was ever issued to {rogue}, and the logon is NTLM ({rec(v)}) whereas the PAWs authenticate with "
           f"Kerberos (BOS-PAW-04's TGT {rec(paw)}). A device impersonating a PAW used t0_aperez's credential against the DC and opened C$ ({rec(sh)}).")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t0_aperez"), hkey(dc), rogue], "source": [rogue, ukey("t0_aperez")], "attack_path": [rogue, ukey("t0_aperez"), hkey(dc)],
              "impacted_assets": [hkey(dc), DOMAIN], "techniques": ["T1078.002", "T1550.002"],
              "must_not_cite": [hkey("BOS-PAW-04"), hkey("BOS-PAW-03")], "why": why}
    return sid, "Tier-0 logon from a non-existent 'BOS-PAW-05' in the PAW subnet", ev, alert, expect, "tsv"


@scenario
def tier0_first_logon_from_new_paw():
    sid = "tier0-first-logon-from-new-paw"
    ev = Events(sid, "2025-03-10 14:30:00", "2025-03-10 16:00:00")
    ev.background(["BOS-PAW-04", "BOS-PAW-03"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.6, skip_users=("aperez",))
    dc, paw = "BOS-ADDS-01", "BOS-PAW-04"
    old = net_logon(ev, dc, "t0_aperez", "BOS-PAW-03", at("2025-03-10 14:41:00"), zeek_port=389, service="ldap", logoff_after=30)
    mt = machine_online(ev, paw, at("2025-03-10 15:01:02"))
    ev.logon(paw, at("2025-03-10 15:03:40"), "t0_aperez", 2)
    li = net_logon(ev, dc, "t0_aperez", paw, at("2025-03-10 15:10:05"), zeek_port=389, service="ldap", logoff_after=60)
    ev.finalize()
    alert = new_terms_logon_alert(sid, li["event"], "t0_aperez", C(paw).ip, f"t0_aperez logged on to bos-adds-01 from new source {C(paw).ip}.")
    why = (f"The new source {C(paw).ip} is BOS-PAW-04 (machine TGT {rec(mt)}), a computer in OU=PAW whose description reads 'Tier-0 privileged access workstation "
           f"issued to Ana Perez on 2025-03-10 (CHG-3399), replaces BOS-PAW-03'; the Kerberos logon ({rec(li['event'])}) is on that very day, after her interactive "
           f"sign-in on the PAW, and earlier she used BOS-PAW-03 ({rec(old['event'])}). New for the rule, documented for the organisation.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("t0_aperez"), hkey(paw), hkey(dc)], "source": [hkey(paw), ukey("t0_aperez")], "impacted_assets": [],
              "techniques": ["T1078.002"], "must_not_cite": [hkey("BOS-PAW-01"), hkey("BOS-PAW-02")], "why": why}
    return sid, "Tier-0 admin's first logon from her newly issued PAW", ev, alert, expect, "tsv"


@scenario
def unusual_source_misfire_stale_vpn_lease():
    sid = "unusual-source-misfire-stale-vpn-lease"
    ev = Events(sid, "2025-03-12 12:30:00", "2025-03-12 14:00:00")
    ev.background(["BOS-APP-01"], density=0.5, skip_users=("bsmith", "kholm"))
    app, dc = "BOS-APP-01", "BOS-ADDS-02"
    vpn = "10.99.0.57"
    mon = machine_online(ev, "BOS-LT-1042", at("2025-03-10 13:01:40"), ip=vpn, dc=dc)
    kh = machine_online(ev, "BOS-LT-1042", at("2025-03-12 12:48:12"), ip="10.99.1.12", dc=dc)
    mine = machine_online(ev, "BOS-LT-1087", at("2025-03-12 13:02:05"), ip=vpn, dc=dc)
    ev.tgt(dc, at("2025-03-12 13:03:10"), "bsmith", vpn)
    li = ev.logon(app, at("2025-03-12 13:05:22"), "bsmith", 3, src_ip=vpn, dc=dc)
    ev.conn(at("2025-03-12 13:05:21"), vpn, C(app).ip, 443, service="ssl", ob=41_000, rb=880_000, duration=310.0)
    ev.finalize()
    alert = new_terms_logon_alert(sid, li["event"], "bsmith", vpn, f"bsmith logged on to bos-app-01 from BOS-LT-1042 ({vpn}), a host never used by this account.",
                                  extra_fields={"related": {"hosts": ["BOS-LT-1042"], "user": ["bsmith"], "ip": [vpn]}})
    alert["source"]["domain"] = "BOS-LT-1042"
    why = (f"The alert resolved {vpn} to BOS-LT-1042 from a stale mapping: BOS-LT-1042 held that VPN address on Monday ({rec(mon)}), but on Wednesday it was at "
           f"10.99.1.12 ({rec(kh)}) and at 13:02, three minutes before the logon ({rec(li['event'])}), {vpn} was issued to BOS-LT-1087 ({rec(mine)}), Brenda Smith's "
           "own laptop. bsmith logged on from her own machine; the unusual source is a misattribution.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("bsmith"), hkey(app), hkey("BOS-LT-1087")], "source": [hkey("BOS-LT-1087"), ukey("bsmith")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-LT-1042"), ukey("kholm")], "why": why}
    return sid, "Logon attributed to the previous holder of a VPN address", ev, alert, expect, "tsv"


@scenario
def unusual_source_misfire_nonexistent_account():
    sid = "unusual-source-misfire-nonexistent-account"
    ev = Events(sid, "2025-03-11 13:30:00", "2025-03-11 15:00:00")
    ev.background(["BOS-FS-01"], density=0.5)
    fs = "BOS-FS-01"
    mfp = "10.61.9.30"
    fails = []
    for k in range(12):
        t = at("2025-03-11 14:02:10", seconds=k * 31)
        fails.append(ev.logon_fail(fs, t, "kdonelly", mfp, src_name="RICOH-PVD-2F", sub="0xc0000064"))
        ev.conn(t, mfp, C(fs).ip, 445, service="smb,ntlmssp", ob=1900, rb=1100)
    ok = ev.logon(fs, at("2025-03-11 14:21:40"), "svc-scan2folder", 3, src_ip=mfp, src_name="RICOH-PVD-2F", auth="NTLM")
    ev.share(fs, at("2025-03-11 14:21:40.200"), "svc-scan2folder", ok["logon_id"], mfp, "Scans", "\\??\\D:\\Shares\\Scans")
    ev.conn(at("2025-03-11 14:21:39"), mfp, C(fs).ip, 445, service="smb,ntlmssp", ob=2_400_000, rb=9100)
    ev.finalize()
    e = fails[0]
    src = ecs_from_security(e, action="logon-failed", outcome="failure")
    src["event"]["outcome"] = "success"
    alert = elastic_alert(sid, fmt(e["_t"]), "Unusual source for account logon", "New terms: a successful logon for an account from a source address or host "
                          "not seen for that account in the last 30 days.", "medium", ["T1078.002"],
                          f"kdonelly logged on to bos-fs-01 from new source {mfp} (RICOH-PVD-2F).", src, rule_type="new_terms",
                          query='event.code:"4624" and winlog.logon.type:("Network" or "RemoteInteractive")', ancestors=ancestors_for([e], SECURITY_INDEX),
                          original_event={"code": "4625", "action": "logon-failed", "kind": "event", "module": "system"}, extra={"kibana.alert.new_terms": [mfp]})
    why = (f"There is no account kdonelly in LMI.INTRA, and no successful logon for that name: the events from {mfp} (WorkstationName RICOH-PVD-2F, the Providence "
           f"2nd-floor copier) are 4625 failures with SubStatus 0xC0000064 'user does not exist' ({rec(fails[0])} ...), retried every 30 s until the copier was "
           f"reconfigured and logged on as svc-scan2folder to the Scans share ({rec(ok['event'])}). The successful logon the alert reports did not happen.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(fs), mfp, ukey("svc-scan2folder")], "source": [mfp], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("BOS-FS-02"), hkey("PVD-DT-2030")], "why": why}
    return sid, "Copier's typo'd scan account reported as a successful unusual logon", ev, alert, expect, "json"


# --------------------------------------------------------------------------------------------- scheduled tasks
def task_alert(sid, e, sev="high"):
    src = ecs_from_security(e, action="scheduled-task-created", category=("configuration",))
    return elastic_alert(sid, fmt(e["_t"]), "Scheduled task created with SYSTEM privileges",
                         "A scheduled task that runs as SYSTEM was registered, remotely or by a non-interactive process.", sev, ["T1053.005"],
                         f"Scheduled task {e['TaskName']} registered on {e['Hostname'].split('.')[0].lower()} by {e['SubjectUserName']}.", src, rule_type="query",
                         query='event.code:("4698" or "4702") and winlog.event_data.TaskContent:*S-1-5-18*', ancestors=ancestors_for([e], SECURITY_INDEX),
                         original_event={"code": str(e["EventID"]), "action": "scheduled-task-created", "kind": "event", "module": "system"})


@scenario
def scheduled_task_persistence_on_exchange():
    sid = "scheduled-task-persistence-on-exchange"
    ev = Events(sid, "2025-03-12 19:00:00", "2025-03-12 20:30:00")
    ev.background(["BOS-LT-1102", "BOS-EXC-01"], density=0.6, skip_users=("rlocke", "lbrandt"))
    lap, tgt = "BOS-LT-1102", "BOS-EXC-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-12 19:05:00"))
    lid, ex = desktop_session(ev, lap, "rlocke", at("2025-03-12 19:05:30"))
    bea = ev.proc(lap, at("2025-03-12 19:06:00"), "C:\\Users\\rlocke\\AppData\\Local\\Microsoft\\EdgeUpdate\\msedgeupdate.exe",
                  "C:\\Users\\rlocke\\AppData\\Local\\Microsoft\\EdgeUpdate\\msedgeupdate.exe /c", ex, user="rlocke", logon_id=lid, integrity="Medium", session="1")
    cp = ev.proc(lap, at("2025-03-12 19:40:02"), "C:\\Windows\\System32\\cmd.exe",
                 "cmd.exe /c copy C:\\Users\\Public\\uao.exe \\\\BOS-EXC-01\\C$\\ProgramData\\Microsoft\\UpdateOrch\\uao.exe", bea, user="rlocke", logon_id=lid,
                 integrity="Medium", session="1")
    st = ev.proc(lap, at("2025-03-12 19:40:20"), "C:\\Windows\\System32\\schtasks.exe",
                 "schtasks.exe /create /s BOS-EXC-01 /u LMI\\t1_lbrandt /p ******** /tn \"\\Microsoft\\Windows\\UpdateOrchestrator\\UpdateAssistantV2\" /tr \"C:\\ProgramData\\Microsoft\\UpdateOrch\\uao.exe\" /sc daily /st 03:00 /ru SYSTEM /f",
                 bea, user="rlocke", logon_id=lid, integrity="Medium", session="1")
    li = net_logon(ev, tgt, "t1_lbrandt", lap, at("2025-03-12 19:40:03"), auth="NTLM", zeek_bytes=(2_100_000, 9_000))
    w = ev.share_file(tgt, at("2025-03-12 19:40:04"), "t1_lbrandt", li["logon_id"], ip, "C$", "\\??\\C:\\", "ProgramData\\Microsoft\\UpdateOrch\\uao.exe",
                      access="0x100180", access_list="%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t")
    ev.conn(at("2025-03-12 19:40:20"), ip, C(tgt).ip, 135, service="dce_rpc", ob=1400, rb=900)
    tk = ev.task_created(tgt, at("2025-03-12 19:40:21"), "t1_lbrandt", li["logon_id"], "\\Microsoft\\Windows\\UpdateOrchestrator\\UpdateAssistantV2",
                         "C:\\ProgramData\\Microsoft\\UpdateOrch\\uao.exe",
                         trigger="<CalendarTrigger><StartBoundary>2025-03-13T03:00:00</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>")
    ev.finalize()
    alert = task_alert(sid, tk)
    why = (f"{rec(tk)} registers '\\Microsoft\\Windows\\UpdateOrchestrator\\UpdateAssistantV2' on {tgt}, running C:\\ProgramData\\Microsoft\\UpdateOrch\\uao.exe "
           f"daily as SYSTEM, in t1_lbrandt's NTLM logon {rec(li['event'])} from {ip} - the same session copied uao.exe there over C$ ({rec(w)}). {ip} is {lap} "
           f"(machine TGT {rec(mt)}), Ryan Locke's sales laptop, where the fake updater msedgeupdate.exe in AppData (the process beaconing to 198.51.100.77) spawned "
           f"the copy and 'schtasks /create /s BOS-EXC-01 /u LMI\\t1_lbrandt ...' ({rec(st)}). Persistence on Exchange with a stolen admin password, "
           "disguised as a Windows Update task.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t1_lbrandt"), hkey(tgt), hkey(lap), ukey("rlocke")], "source": [hkey(lap), ukey("t1_lbrandt")],
              "attack_path": [hkey(lap), ukey("t1_lbrandt"), hkey(tgt)], "impacted_assets": [hkey(tgt)], "techniques": ["T1053.005", "T1021.002"],
              "must_not_cite": [hkey("BOS-JMP-01"), hkey("BOS-LT-1021"), hkey("BOS-APP-07")], "why": why}
    return sid, "Fake Windows Update task planted on Exchange with a stolen admin password", ev, alert, expect, "tsv"


@scenario
def scheduled_task_mecm_health_evaluation():
    sid = "scheduled-task-mecm-health-evaluation"
    ev = Events(sid, "2025-03-10 14:30:00", "2025-03-10 16:00:00")
    ev.background(["BOS-MECM-01", "BOS-LT-1118"], density=0.5)
    from fam_lateral import mecm_push
    tgt = "BOS-LT-1118"
    p = mecm_push(ev, tgt, at("2025-03-10 15:10:04"))
    ccm = ev.proc(tgt, at("2025-03-10 15:12:40"), "C:\\Windows\\CCM\\CcmExec.exe", "C:\\Windows\\CCM\\CcmExec.exe", ev.services(tgt), user="SYSTEM", integrity="System")
    tk = ev.task_created(tgt, at("2025-03-10 15:12:52"), tgt + "$", "0x3e7", "\\Microsoft\\Configuration Manager\\Configuration Manager Health Evaluation",
                         "C:\\Windows\\CCM\\ccmeval.exe",
                         trigger="<CalendarTrigger><StartBoundary>2025-03-11T00:00:00</StartBoundary><Enabled>true</Enabled><RandomDelay>PT1H</RandomDelay><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>")
    ev.finalize()
    alert = task_alert(sid, tk, sev="medium")
    why = (f"The task ({rec(tk)}) is MECM's standard client health evaluation (C:\\Windows\\CCM\\ccmeval.exe, daily), registered by the computer itself (SYSTEM) two "
           f"minutes after the documented client push from BOS-MECM-01 with svc-mecm-push installed ccmsetup ({rec(p['install'])}, logon from 10.40.8.40) on the "
           "re-imaged laptop. Expected configuration-management behaviour.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey(tgt), hkey("BOS-MECM-01"), ukey("svc-mecm-push")], "source": [hkey("BOS-MECM-01"), ukey("svc-mecm-push")], "impacted_assets": [],
              "techniques": ["T1053.005"], "must_not_cite": [hkey("BOS-LT-1117"), ukey("svc-mecm-na")], "why": why}
    return sid, "MECM client registers its health-evaluation task", ev, alert, expect, "tsv"


@scenario
def scheduled_task_misfire_builtin_update():
    sid = "scheduled-task-misfire-builtin-update"
    ev = Events(sid, "2025-03-12 02:30:00", "2025-03-12 04:00:00")
    ev.background(["BOS-APP-06"], density=0.5)
    tgt = "BOS-APP-06"
    tk = ev.task_created(tgt, at("2025-03-12 03:10:44"), tgt + "$", "0x3e7", "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan",
                         "%systemroot%\\system32\\usoclient.exe", args="StartScan",
                         trigger="<TimeTrigger><StartBoundary>2025-03-13T03:10:44Z</StartBoundary><Enabled>true</Enabled></TimeTrigger>", eid=4702)
    ev.finalize()
    src = ecs_from_security(tk, action="scheduled-task-updated", category=("configuration",))
    alert = elastic_alert(sid, fmt(tk["_t"]), "New scheduled task created in a Microsoft task path", "A scheduled task was created under \\Microsoft\\Windows\\ "
                          "by an unexpected process, a common masquerading technique.", "high", ["T1053.005"],
                          f"Scheduled task \\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan created on bos-app-06 running C:\\ProgramData\\usoclient.exe.",
                          src, rule_type="query", query='event.code:"4698" and winlog.event_data.TaskName:\\\\Microsoft\\\\Windows\\\\*',
                          ancestors=ancestors_for([tk], SECURITY_INDEX), original_event={"code": "4698", "action": "scheduled-task-created", "kind": "event", "module": "system"})
    why = (f"The event is 4702 'scheduled task updated' ({rec(tk)}), not a creation: the built-in \\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan task, changed "
           "by the computer itself (SYSTEM) to its next trigger time, still running the stock %systemroot%\\system32\\usoclient.exe StartScan - not "
           "C:\\ProgramData\\usoclient.exe as the alert says. Windows Update rescheduling itself; no task was created.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(tgt)], "impacted_assets": [], "techniques": [], "must_not_cite": [hkey("BOS-APP-05"), hkey("BOS-EXC-01")], "why": why}
    return sid, "Windows Update rescheduling its own task reported as a new masquerading task", ev, alert, expect, "tsv"
