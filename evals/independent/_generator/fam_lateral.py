"""Lateral movement over SMB/PsExec, WMI, WinRM and RDP."""
from __future__ import annotations

from datetime import timedelta

from alerts import (SECURITY_INDEX, SYSMON_INDEX, ancestors_for, ecs_from_security, ecs_from_sysmon1, elastic_alert, ocsf_device,
                    ocsf_endpoint, ocsf_finding, ocsf_user, related_event)
from common import DOMAIN, NETBIOS
from enterprise import C, U, IP_OF, hkey, ukey, gkey
from scen import (CORELIGHT, TENZIR, at, desktop_session, fmt, jump_in, machine_online, net_logon, psexec, rdp_session, rec,
                  scenario, winrm, wmiexec)
from winevt import Events

CMD = "C:\\Windows\\System32\\cmd.exe"
WIN11 = "Windows 11 Enterprise"


def proc_alert(seed, pev, rule, desc, sev, techs, reason, query, rtype="eql", os_name="Windows Server 2022 Standard", fps=None, extra=None):
    return elastic_alert(seed, fmt(pev["_t"]), rule, desc, sev, techs, reason, ecs_from_sysmon1(pev, os_name), rule_type=rtype, query=query,
                         ancestors=ancestors_for([pev], SYSMON_INDEX),
                         original_event={"code": "1", "action": "Process creation", "kind": "event", "module": "windows", "category": "process"},
                         index=["logs-windows.sysmon_operational-*"], false_positives=fps, extra=extra)


def mtgt(ev, host):
    return [e for e in ev.win if e["EventID"] == 4768 and e["TargetUserName"] == host + "$"][0]


@scenario
def psexec_tier1_admin_from_legal_laptop():
    sid = "psexec-tier1-admin-from-legal-laptop"
    ev = Events(sid, "2025-03-13 13:00:00", "2025-03-13 15:00:00")
    ev.background(["BOS-LT-1027", "BOS-APP-03", "BOS-APP-01", "BOS-JMP-01"], skip_users=("tkim", "gmarsh"))
    lap, tgt = "BOS-LT-1027", "BOS-APP-03"
    # gmarsh's normal day: laptop -> jump host -> server
    li_j, ex_j = jump_in(ev, "BOS-JMP-01", "t1_gmarsh", "BOS-LT-1012", at("2025-03-13 13:30:10"))
    net_logon(ev, "BOS-APP-01", "t1_gmarsh", "BOS-JMP-01", at("2025-03-13 13:45:31"), logoff_after=300)
    mt = machine_online(ev, lap, at("2025-03-13 13:12:00"))
    lid, ex = desktop_session(ev, lap, "tkim", at("2025-03-13 13:12:40"))
    tool = ev.proc(lap, at("2025-03-13 14:21:58"), "C:\\Users\\tkim\\AppData\\Local\\Temp\\ps64.exe",
                   "C:\\Users\\tkim\\AppData\\Local\\Temp\\ps64.exe \\\\BOS-APP-03.lmi.intra -accepteula -u LMI\\t1_gmarsh -p ******** cmd.exe",
                   ex, user="tkim", logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-13 14:21:59"), tool, C(tgt).ip, 445)
    r = psexec(ev, tgt, "t1_gmarsh", lap, at("2025-03-13 14:22:01"),
               [(CMD, "cmd.exe"), ("C:\\Windows\\System32\\whoami.exe", "whoami /all"),
                ("C:\\Windows\\System32\\net.exe", 'net group "Domain Admins" /domain'),
                ("C:\\Windows\\System32\\net.exe", "net localgroup administrators"),
                ("C:\\Windows\\System32\\reg.exe", "reg query HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run")])
    ev.finalize()
    cmd = r["procs"][0]["ev"]
    alert = proc_alert(sid, cmd, "PsExec Network Connection / Remote Service Execution",
                       "A command shell was started by the PsExec service (PSEXESVC) that was installed remotely through the ADMIN$ share.",
                       "high", ["T1021.002", "T1569.002"], f"process event with process cmd.exe, parent process PSEXESVC.exe, by t1_gmarsh on bos-app-03 created high alert PsExec Network Connection / Remote Service Execution.",
                       'process where event.type == "start" and process.parent.name : "PSEXESVC.exe"')
    lg = r["logon"]["event"]
    why = (f"On {tgt} cmd.exe ({rec(cmd)}) was started by PSEXESVC.exe in logon session {r['logon']['logon_id']} of t1_gmarsh, the NTLM network logon "
           f"{rec(lg)} from {C(lap).ip} (WorkstationName {lap}) that wrote PSEXESVC.exe to ADMIN$ ({rec(r['write'])}) and installed the service "
           f"({rec(r['install'])}); the shell then ran whoami /all and enumerated Domain Admins. {C(lap).ip} is {lap} (machine TGT {rec(mt)}), Tae Kim's legal "
           f"laptop, where ps64.exe in Temp ran with -u LMI\\t1_gmarsh ({rec(tool)}). gmarsh's own administration that day goes laptop BOS-LT-1012 -> BOS-JMP-01 "
           "-> servers, as SEC-STD-011 requires: his credential is being used from a legal laptop.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t1_gmarsh"), hkey(tgt), hkey(lap), ukey("tkim")],
              "source": [hkey(lap), ukey("t1_gmarsh")], "attack_path": [hkey(lap), ukey("t1_gmarsh"), hkey(tgt)],
              "impacted_assets": [hkey(tgt)], "techniques": ["T1021.002", "T1569.002"],
              "must_not_cite": [hkey("BOS-JMP-01"), hkey("BOS-LT-1012"), ukey("gmarsh2"), hkey("BOS-APP-08")], "why": why}
    return sid, "PsExec with a tier-1 admin's password from a legal laptop", ev, alert, expect, "tsv"


def mecm_push(ev, target, t, src="BOS-MECM-01"):
    t = ev._t(t)
    ip = C(src).ip
    li = ev.logon(target, t, "svc-mecm-push", 3, src_ip=ip)
    lid = li["logon_id"]
    ev.conn(t - timedelta(milliseconds=200), ip, C(target).ip, 445, service="smb,gssapi", ob=5_612_004, rb=48_113, duration=38.2)
    ev.share(target, t + timedelta(milliseconds=40), "svc-mecm-push", lid, ip, "ADMIN$", "\\??\\C:\\Windows")
    w = ev.share_file(target, t + timedelta(milliseconds=90), "svc-mecm-push", lid, ip, "ADMIN$", "\\??\\C:\\Windows", "ccmsetup\\ccmsetup.exe",
                      access="0x100180", access_list="%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t")
    ev.share(target, t + timedelta(seconds=3), "svc-mecm-push", lid, ip, "IPC$", "")
    inst = ev.service_install(target, t + timedelta(seconds=4), "ccmsetup", "C:\\Windows\\ccmsetup\\ccmsetup.exe /runservice /mp:BOS-MECM-01.lmi.intra SMSSITECODE=LM1",
                              start="auto start", subject="svc-mecm-push", logon_id=lid)
    p = ev.proc(target, t + timedelta(seconds=5), "C:\\Windows\\ccmsetup\\ccmsetup.exe",
                '"C:\\Windows\\ccmsetup\\ccmsetup.exe" /runservice /mp:BOS-MECM-01.lmi.intra SMSSITECODE=LM1 /ignoreskipupgrade',
                ev.services(target), user="SYSTEM", integrity="System")
    ev.netconn(target, t + timedelta(seconds=9), p, C(src).ip, 443)
    ev.conn(t + timedelta(seconds=9), C(target).ip, C(src).ip, 443, service="ssl", ob=21000, rb=61_400_000, duration=95.0)
    ev.logoff(target, t + timedelta(seconds=40), "svc-mecm-push", lid)
    return {"logon": li, "write": w, "install": inst, "proc": p}


@scenario
def mecm_push_account_from_underwriting_laptop():
    sid = "mecm-push-account-from-underwriting-laptop"
    ev = Events(sid, "2025-03-12 14:30:00", "2025-03-12 21:30:00")
    ev.background(["BOS-LT-1088", "BOS-FS-02", "BOS-MECM-01"], density=0.5, skip_users=("jlynch",))
    lap, tgt = "BOS-LT-1088", "BOS-FS-02"
    routine = mecm_push(ev, "BOS-LT-1117", at("2025-03-12 15:10:04"))
    mt = machine_online(ev, lap, at("2025-03-12 20:31:12"))
    lid, ex = desktop_session(ev, lap, "jlynch", at("2025-03-12 20:32:00"))
    ps = ev.proc(lap, at("2025-03-12 20:46:40"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -nop -ep bypass -f C:\\Users\\jlynch\\AppData\\Local\\Temp\\svcpush.ps1 -Target BOS-FS-02 -User LMI\\svc-mecm-push",
                 ex, user="jlynch", logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-12 20:47:00"), ps, C(tgt).ip, 445)
    r = psexec(ev, tgt, "svc-mecm-push", lap, at("2025-03-12 20:47:02"),
               [(CMD, "cmd.exe"), ("C:\\Windows\\System32\\whoami.exe", "whoami"),
                ("C:\\Windows\\System32\\robocopy.exe", "robocopy D:\\Shares\\Actuarial\\Models C:\\Windows\\Temp\\ccmcache\\m /E /R:0 /W:0 /NFL /NDL"),
                (CMD, "cmd.exe /c dir C:\\Windows\\Temp\\ccmcache\\m /s")],
               auth="Kerberos", svc_name="ccmsetup", svc_image="%SystemRoot%\\ccmsetup\\ccmsetup.exe")
    ev.finalize()
    inst = r["install"]
    src = ecs_from_security(r["logon"]["event"], action="logged-in")
    alert = ocsf_finding("tz-svc-admin-share-0312-2047", fmt(inst["_t"] + timedelta(seconds=20)), "Remote service installation after ADMIN$ write",
                         f"Service 'ccmsetup' (C:\\Windows\\ccmsetup\\ccmsetup.exe) was installed on {tgt} by svc-mecm-push seconds after a binary was written to ADMIN$.",
                         "high", TENZIR, ("sigma-lmi-0201", "Service install following admin share write", "Lateral Movement"), ["T1021.002", "T1569.002"],
                         evidences=[{"actor": {"user": ocsf_user("svc-mecm-push", sid=U("svc-mecm-push").sid)},
                                     "device": {"hostname": f"{tgt}.lmi.intra", "ip": C(tgt).ip},
                                     "file": {"name": "ccmsetup.exe", "path": "C:\\Windows\\ccmsetup\\ccmsetup.exe"}}],
                         device=ocsf_device(f"{tgt}.lmi.intra", C(tgt).ip), related=[related_event(r["write"]), related_event(inst)])
    why = (f"svc-mecm-push is documented for client push from the site server BOS-MECM-01 only, as at 15:10 ({rec(routine['install'])} on BOS-LT-1117 from 10.40.8.40). "
           f"At 20:47 the same account wrote ccmsetup.exe to {tgt}'s ADMIN$ ({rec(r['write'])}) from {C(lap).ip} = {lap} (machine TGT {rec(mt)}), where "
           f"jlynch's PowerShell ran svcpush.ps1 -User LMI\\svc-mecm-push ({rec(ps)}). The 'ccmsetup' service then ran, in logon {r['logon']['logon_id']}, "
           f"robocopy of D:\\Shares\\Actuarial\\Models to a Temp folder ({rec(r['procs'][2])}): no MECM push copies actuarial models.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-mecm-push"), hkey(tgt), hkey(lap), ukey("jlynch")],
              "source": [hkey(lap), ukey("svc-mecm-push")], "attack_path": [hkey(lap), ukey("svc-mecm-push"), hkey(tgt), "ACTUARIAL-MODELS"],
              "impacted_assets": [hkey(tgt), "ACTUARIAL-MODELS"], "techniques": ["T1021.002", "T1569.002", "T1078.002"],
              "must_not_cite": [hkey("BOS-MECM-01"), ukey("svc-mecm-na"), hkey("BOS-FS-01")], "why": why}
    return sid, "MECM push account installing a service from an underwriting laptop", ev, alert, expect, "tsv"


@scenario
def mecm_client_push_from_site_server():
    sid = "mecm-client-push-from-site-server"
    ev = Events(sid, "2025-03-10 14:30:00", "2025-03-10 16:00:00")
    ev.background(["BOS-MECM-01", "BOS-LT-1118", "BOS-LT-1119", "PVD-DT-2039"], density=0.6)
    pushes = [mecm_push(ev, h, at("2025-03-10 15:10:04", minutes=k * 2)) for k, h in enumerate(["BOS-LT-1118", "BOS-LT-1119", "PVD-DT-2039"])]
    ev.finalize()
    p = pushes[0]
    alert = proc_alert(sid, p["proc"]["ev"], "Remote Execution via File Shares: service binary from ADMIN$",
                       "An executable written over SMB to an administrative share was started as a service on the target.", "medium",
                       ["T1021.002", "T1569.002"], "process event with process ccmsetup.exe, parent process services.exe, on bos-lt-1118 created medium alert Remote Execution via File Shares: service binary from ADMIN$.",
                       'sequence by host.id with maxspan=1m [file where event.action == "creation" and file.path : "C:\\\\Windows\\\\*"] [process where event.type == "start" and process.parent.name : "services.exe"]',
                       os_name=WIN11, fps=["Software deployment tools (MECM client push)"])
    why = (f"The service binary is ccmsetup.exe written to ADMIN$ by svc-mecm-push ({rec(p['write'])}) over a logon from 10.40.8.40 = BOS-MECM-01 "
           f"({rec(p['logon']['event'])}), installed as 'ccmsetup /mp:BOS-MECM-01 SMSSITECODE=LM1' ({rec(p['install'])}) and then downloading the client "
           f"from the site server. The account's description, BOS-MECM-01's tags (client-push-account=svc-mecm-push) and the LMI-MECM-CLIENTPUSH GPO document "
           "exactly this; the same push hit BOS-LT-1119 and PVD-DT-2039, newly built machines: MECM client push.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("svc-mecm-push"), hkey("BOS-LT-1118"), hkey("BOS-MECM-01")],
              "source": [hkey("BOS-MECM-01"), ukey("svc-mecm-push")], "impacted_assets": [], "techniques": ["T1021.002", "T1569.002"],
              "must_not_cite": [ukey("svc-mecm-na"), hkey("BOS-LT-1108")], "why": why}
    return sid, "MECM client push to new laptops", ev, alert, expect, "json"


@scenario
def admin_share_misfire_departmental_share():
    sid = "admin-share-misfire-departmental-share"
    ev = Events(sid, "2025-03-14 15:30:00", "2025-03-14 17:00:00")
    ev.background(["BOS-LT-1058", "BOS-FS-01"], skip_users=("hpark",))
    lap, fs = "BOS-LT-1058", "BOS-FS-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-14 15:31:00"))
    lid, ex = desktop_session(ev, lap, "hpark", at("2025-03-14 15:31:30"))
    li = net_logon(ev, fs, "hpark", lap, at("2025-03-14 16:20:11"), zeek_bytes=(3_411_220, 18_500))
    sh = ev.share(fs, at("2025-03-14 16:20:11.200"), "hpark", li["logon_id"], ip, "Finance", "\\??\\D:\\Shares\\Finance")
    w = ev.share_file(fs, at("2025-03-14 16:20:12"), "hpark", li["logon_id"], ip, "Finance", "\\??\\D:\\Shares\\Finance",
                      "Treasury\\Tools\\BankRecHelper.exe", access="0x100180",
                      access_list="%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t")
    ev.logoff(fs, at("2025-03-14 16:35:00"), "hpark", li["logon_id"])
    ev.finalize()
    alert = ocsf_finding("tz-admin-share-exe-0314-1620", "2025-03-14 16:20:40", "Lateral tool transfer: executable written to administrative share",
                         f"hpark wrote BankRecHelper.exe to \\\\{fs}\\C$\\Windows\\Temp from {ip}.", "high", TENZIR,
                         ("sigma-lmi-0205", "Executable written to admin share", "Lateral Movement"), ["T1021.002"],
                         evidences=[{"actor": {"user": ocsf_user("hpark")}, "src_endpoint": ocsf_endpoint(ip),
                                     "file": {"name": "BankRecHelper.exe", "path": f"\\\\{fs}\\C$\\Windows\\Temp\\BankRecHelper.exe"},
                                     "device": {"hostname": f"{fs}.lmi.intra", "ip": C(fs).ip}}],
                         device=ocsf_device(f"{fs}.lmi.intra", C(fs).ip), related=[related_event(w)],
                         unmapped={"ShareName": "\\\\*\\C$", "RelativeTargetName": "Windows\\Temp\\BankRecHelper.exe"})
    why = (f"The only 5145 write by hpark on {fs} ({rec(w)}) is to ShareName \\\\*\\Finance (D:\\Shares\\Finance), RelativeTargetName "
           f"Treasury\\Tools\\BankRecHelper.exe, over her ordinary Kerberos logon from {ip} = {lap} (machine TGT {rec(mt)}); no C$ or ADMIN$ access, "
           "no service install and no process start on the file server follow. A finance user saved a tool to her department share; the admin-share "
           "lateral transfer the alert reports did not happen.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("hpark"), hkey(fs), hkey(lap)], "source": [hkey(lap), ukey("hpark")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-FS-02"), hkey("BOS-LT-1059")], "why": why}
    return sid, "A file saved to the Finance share reported as admin-share tool transfer", ev, alert, expect, "tsv"


@scenario
def lateral_misfire_ipc_logon_and_scheduled_script():
    sid = "lateral-misfire-ipc-logon-and-scheduled-script"
    ev = Events(sid, "2025-03-12 14:30:00", "2025-03-12 16:30:00")
    ev.background(["BOS-LT-1091", "BOS-APP-07"], skip_users=("sfarrell",))
    lap, app = "BOS-LT-1091", "BOS-APP-07"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-12 14:40:00"))
    li = net_logon(ev, app, "sfarrell", lap, at("2025-03-12 15:02:07"), zeek_bytes=(2841, 3310))
    ipc = ev.share(app, at("2025-03-12 15:02:07.100"), "sfarrell", li["logon_id"], ip, "IPC$", "")
    ev.share_file(app, at("2025-03-12 15:02:07.150"), "sfarrell", li["logon_id"], ip, "IPC$", "", "srvsvc", access="0x12019f")
    lo = ev.logoff(app, at("2025-03-12 15:02:31"), "sfarrell", li["logon_id"])
    sched = ev.svchost(app)
    runs = []
    for t in ("2025-03-11 15:41:00", "2025-03-12 15:41:00"):
        runs.append(ev.proc(app, at(t), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                            "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\ssrs-cache-cleanup.ps1", sched, user="SYSTEM", integrity="System"))
    ev.finalize()
    p = runs[1]["ev"]
    src = ecs_from_sysmon1(p)
    src["source"] = {"ip": ip}
    alert = elastic_alert(sid, fmt(p["_t"]), "Remote logon followed by PowerShell with execution-policy bypass",
                          "Sequence: a network logon from a workstation to a server followed within one hour by PowerShell with -ExecutionPolicy Bypass on that server.",
                          "medium", ["T1021.002", "T1059.001"], f"sequence by host.name: network logon by sfarrell from {ip}, then powershell.exe -ExecutionPolicy Bypass on bos-app-07.",
                          src, rule_type="eql",
                          query='sequence by host.name with maxspan=1h [authentication where event.code == "4624" and winlog.logon.type == "Network" and source.ip : "10.60.*"] [process where process.name : "powershell.exe" and process.args : "Bypass"]',
                          ancestors=ancestors_for([li["event"], p], SECURITY_INDEX),
                          original_event={"kind": "event", "module": "windows"})
    why = (f"sfarrell's logon from {ip} = {lap} ({rec(li['event'])}, session {li['logon_id']}) only opened IPC$ and the srvsvc pipe ({rec(ipc)}) and ended at "
           f"15:02:31 ({rec(lo)}). The PowerShell at 15:41 ({rec(p)}) runs as SYSTEM in logon 0x3e7, child of the Task Scheduler svchost, executing "
           f"C:\\Scripts\\ssrs-cache-cleanup.ps1 exactly as the day before at 15:41 ({rec(runs[0])}). The two events only share the hour; no process ran in "
           "sfarrell's session and there was no remote execution.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(app), ukey("sfarrell"), hkey(lap)], "source": [hkey(lap), ukey("sfarrell")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-APP-01"), hkey("BOS-LT-1090")], "why": why}
    return sid, "IPC$-only logon and a daily scheduled script correlated as lateral movement", ev, alert, expect, "json"


@scenario
def wmi_exec_to_warehouse_sql():
    sid = "wmi-exec-to-warehouse-sql"
    ev = Events(sid, "2025-03-14 15:00:00", "2025-03-14 17:00:00")
    ev.background(["BOS-LT-1066", "BOS-SQL-11", "BOS-JMP-02"], skip_users=("dmensah", "tlindqvist"))
    lap, tgt = "BOS-LT-1066", "BOS-SQL-11"
    ip = C(lap).ip
    jump_in(ev, "BOS-JMP-02", "t1_tlindqvist", "BOS-LT-1018", at("2025-03-14 15:10:00"))
    mt = machine_online(ev, lap, at("2025-03-14 15:20:00"))
    lid, ex = desktop_session(ev, lap, "dmensah", at("2025-03-14 15:20:30"))
    tool = ev.proc(lap, at("2025-03-14 16:04:50"), "C:\\ProgramData\\Intel\\igfxsvc.exe",
                   "C:\\ProgramData\\Intel\\igfxsvc.exe wmiexec -k -no-pass lmi.intra/t1_tlindqvist@BOS-SQL-11.lmi.intra", ex, user="dmensah",
                   logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-14 16:04:55"), tool, C(tgt).ip, 135)
    r = wmiexec(ev, tgt, "t1_tlindqvist", lap, at("2025-03-14 16:05:01"),
                ["cd \\", "whoami /priv",
                 'sqlcmd -S . -E -Q "BACKUP DATABASE [DW] TO DISK=\'C:\\Windows\\Temp\\dw.bak\' WITH COPY_ONLY, COMPRESSION"',
                 "dir C:\\Windows\\Temp\\dw.bak"])
    lid2 = r["logon"]["logon_id"]
    rd = ev.share_file(tgt, at("2025-03-14 16:09:40"), "t1_tlindqvist", lid2, ip, "ADMIN$", "\\??\\C:\\Windows", "Temp\\dw.bak", access="0x120089")
    ev.conn(at("2025-03-14 16:09:39"), ip, C(tgt).ip, 445, service="smb,gssapi", ob=210_331, rb=3_802_114_590, duration=611.0)
    ev.finalize()
    cmd = r["procs"][2]["ev"]
    alert = proc_alert(sid, cmd, "Remote Execution via WMI (Impacket wmiexec pattern)",
                       "A command shell spawned by WmiPrvSE.exe with output redirected to \\\\127.0.0.1\\ADMIN$, the wmiexec pattern.", "high",
                       ["T1047", "T1021.002"], "process event with process cmd.exe, parent process WmiPrvSE.exe, by t1_tlindqvist on bos-sql-11 created high alert Remote Execution via WMI (Impacket wmiexec pattern).",
                       'process where process.parent.name : "WmiPrvSE.exe" and process.command_line : "*\\\\\\\\127.0.0.1\\\\ADMIN$\\\\__*"')
    why = (f"The cmd.exe children of WmiPrvSE on {tgt} ({rec(r['procs'][0])} ... {rec(cmd)}) run in logon {lid2}, t1_tlindqvist's network logon "
           f"{rec(r['logon']['event'])} from {ip}; they back up the DW database to C:\\Windows\\Temp\\dw.bak, which the same session reads back over ADMIN$ "
           f"({rec(rd)}, ~3.8 GB to {ip} in Zeek). {ip} is {lap} (machine TGT {rec(mt)}), Daniel Mensah's claims laptop, where igfxsvc.exe in ProgramData ran "
           f"'wmiexec ... t1_tlindqvist@BOS-SQL-11' ({rec(tool)}). Tomas Lindqvist himself was working from BOS-JMP-02 at the time.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t1_tlindqvist"), hkey(tgt), hkey(lap), ukey("dmensah"), "DW-ANALYTICS"],
              "source": [hkey(lap), ukey("t1_tlindqvist")], "attack_path": [hkey(lap), ukey("t1_tlindqvist"), hkey(tgt), "DW-ANALYTICS"],
              "impacted_assets": [hkey(tgt), "DW-ANALYTICS"], "techniques": ["T1047", "T1021.002"],
              "must_not_cite": [hkey("BOS-SQL-01"), hkey("BOS-JMP-02"), hkey("BOS-LT-1018")], "why": why}
    return sid, "wmiexec with a server admin's ticket backs up the warehouse", ev, alert, expect, "tsv"


@scenario
def wmi_remote_iisreset_from_jump_host():
    sid = "wmi-remote-iisreset-from-jump-host"
    ev = Events(sid, "2025-03-11 13:30:00", "2025-03-11 15:00:00")
    ev.background(["BOS-JMP-01", "BOS-APP-02", "BOS-LT-1014"], skip_users=("kvance",))
    jmp, tgt = "BOS-JMP-01", "BOS-APP-02"
    li_j, ex_j = jump_in(ev, jmp, "t1_kvance", "BOS-LT-1014", at("2025-03-11 14:01:12"))
    wm = ev.proc(jmp, at("2025-03-11 14:09:58"), "C:\\Windows\\System32\\wbem\\WMIC.exe",
                 'wmic /node:BOS-APP-02 process call create "cmd.exe /c iisreset /noforce"', ex_j, user="t1_kvance",
                 logon_id=li_j["logon_id"], integrity="High", session="2")
    ev.netconn(jmp, at("2025-03-11 14:09:59"), wm, C(tgt).ip, 135)
    r = wmiexec(ev, tgt, "t1_kvance", jmp, at("2025-03-11 14:10:00"), ["cmd.exe /c iisreset /noforce"], output_to_admin=False)
    r["procs"][0]["cmd"] = "cmd.exe /c iisreset /noforce"
    ir = ev.proc(tgt, at("2025-03-11 14:10:01"), "C:\\Windows\\System32\\iisreset.exe", "iisreset  /noforce", r["procs"][0], user="t1_kvance",
                 logon_id=r["logon"]["logon_id"])
    ev.finalize()
    cmd = r["procs"][0]["ev"]
    alert = proc_alert(sid, cmd, "Remote process creation via WMI",
                       "A process was spawned by WmiPrvSE.exe on behalf of a remote network logon.", "medium", ["T1047"],
                       "process event with process cmd.exe, parent process WmiPrvSE.exe, by t1_kvance on bos-app-02 created medium alert Remote process creation via WMI.",
                       'process where process.parent.name : "WmiPrvSE.exe" and process.name : ("cmd.exe", "powershell.exe")')
    why = (f"cmd.exe /c iisreset /noforce on {tgt} ({rec(cmd)}) ran in t1_kvance's network logon {rec(r['logon']['event'])} from 10.40.8.21 = BOS-JMP-01, "
           f"where her RDP session (from her laptop BOS-LT-1014, {rec(li_j['event'])}) ran 'wmic /node:BOS-APP-02 process call create' ({rec(wm)}). t1_kvance is "
           "in GG-T1-ServerAdmins, BOS-JMP-01 is the documented tier-1 admin source, it was a weekday 14:10 UTC and restarting IIS on the SharePoint "
           "server is routine administration.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("t1_kvance"), hkey(tgt), hkey(jmp)], "source": [hkey(jmp), ukey("t1_kvance")], "impacted_assets": [],
              "techniques": ["T1047"], "must_not_cite": [hkey("BOS-JMP-02"), hkey("BOS-APP-03")], "why": why}
    return sid, "Admin restarts IIS over WMI from the jump host", ev, alert, expect, "tsv"


@scenario
def wmi_misfire_scheduled_task_powershell():
    sid = "wmi-misfire-scheduled-task-powershell"
    ev = Events(sid, "2025-03-12 15:00:00", "2025-03-12 16:30:00")
    ev.background(["BOS-APP-01", "BOS-LT-1042", "BOS-FS-01"], skip_users=("kholm",))
    app = "BOS-APP-01"
    lap = "BOS-LT-1042"
    mt = machine_online(ev, lap, at("2025-03-12 15:05:00"))
    li = net_logon(ev, "BOS-FS-01", "kholm", lap, at("2025-03-12 15:58:02"), zeek_bytes=(12000, 380000), logoff_after=240)
    ev.share("BOS-FS-01", at("2025-03-12 15:58:02.300"), "kholm", li["logon_id"], C(lap).ip, "Finance", "\\??\\D:\\Shares\\Finance")
    sched = ev.svchost(app)
    runs = [ev.proc(app, at(t), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                    "powershell.exe -NoProfile -NonInteractive -File C:\\Scripts\\PolicyExportCleanup.ps1", sched, user="SYSTEM", integrity="System")
            for t in ("2025-03-11 16:00:00", "2025-03-12 16:00:00")]
    ev.finalize()
    p = runs[1]["ev"]
    alert = ocsf_finding("tz-wmi-exec-0312-1600", "2025-03-12 16:00:25", "WMI remote execution: WmiPrvSE spawned PowerShell",
                         f"WmiPrvSE.exe spawned powershell.exe (pid {p['ProcessId']}) on {app} after a remote WMI connection from {C(lap).ip}.", "high", TENZIR,
                         ("sigma-lmi-0221", "WmiPrvSE spawning shell", "Execution"), ["T1047"],
                         evidences=[{"process": {"pid": int(p["ProcessId"]), "name": "powershell.exe", "cmd_line": p["CommandLine"],
                                                 "parent_process": {"name": "WmiPrvSE.exe", "pid": 3460}},
                                     "src_endpoint": ocsf_endpoint(C(lap).ip), "device": {"hostname": f"{app}.lmi.intra", "ip": C(app).ip}}],
                         device=ocsf_device(f"{app}.lmi.intra", C(app).ip), related=[related_event(p)])
    why = (f"The PowerShell the alert cites ({rec(p)}, pid {p['ProcessId']}) has ParentImage svchost.exe -k netsvcs -p -s Schedule, runs as SYSTEM in logon 0x3e7 "
           f"and executes C:\\Scripts\\PolicyExportCleanup.ps1, the same task that ran at 16:00 the day before ({rec(runs[0])}); WmiPrvSE was not its parent "
           f"and {app} logged no logon from {C(lap).ip} at all. That address is {lap} (machine TGT {rec(mt)}), whose only server access was kholm's Finance-share "
           "session on BOS-FS-01. No WMI execution happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(app)], "impacted_assets": [], "techniques": [],
              "must_not_cite": [hkey(lap), ukey("kholm"), hkey("BOS-APP-07")], "why": why}
    return sid, "Scheduled PowerShell reported as WMI remote execution", ev, alert, expect, "tsv"


@scenario
def winrm_sql_admin_credential_from_hr_laptop():
    sid = "winrm-sql-admin-credential-from-hr-laptop"
    ev = Events(sid, "2025-03-12 15:00:00", "2025-03-12 18:30:00")
    ev.background(["BOS-LT-1029", "BOS-SQL-02", "BOS-JMP-02"], skip_users=("mcohen", "praman"))
    lap, tgt = "BOS-LT-1029", "BOS-SQL-02"
    ip = C(lap).ip
    lij, exj = jump_in(ev, "BOS-JMP-02", "t1_praman", "BOS-LT-1016", at("2025-03-12 15:02:00"))
    legit = net_logon(ev, tgt, "t1_praman", "BOS-JMP-02", at("2025-03-12 15:14:10"), zeek_port=1433, service="-", logoff_after=900)
    mt = machine_online(ev, lap, at("2025-03-12 16:50:00"))
    lid, ex = desktop_session(ev, lap, "mcohen", at("2025-03-12 16:50:40"))
    ps = ev.proc(lap, at("2025-03-12 17:29:41"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -nop -w hidden -c \"$c=New-Object PSCredential('LMI\\t1_praman',(ConvertTo-SecureString $env:P -AsPlainText -Force)); $s=New-PSSession BOS-SQL-02 -Credential $c; Invoke-Command $s {cmd /c dir D:\\SQLBackup; & 'C:\\Program Files\\7-Zip\\7z.exe' a -pLm2025! -mhe=on C:\\ProgramData\\c.7z D:\\SQLBackup\\CLAIMS_FULL_20250312.bak}; Copy-Item C:\\ProgramData\\c.7z -FromSession $s -Destination $env:TEMP\"",
                 ex, user="mcohen", logon_id=lid, integrity="Medium", session="1")
    ev.netconn(lap, at("2025-03-12 17:29:43"), ps, C(tgt).ip, 5985)
    r = winrm(ev, tgt, "t1_praman", lap, at("2025-03-12 17:29:44"),
              [(CMD, "\"C:\\Windows\\system32\\cmd.exe\" /c dir D:\\SQLBackup"),
               ("C:\\Program Files\\7-Zip\\7z.exe", "\"C:\\Program Files\\7-Zip\\7z.exe\" a -pLm2025! -mhe=on C:\\ProgramData\\c.7z D:\\SQLBackup\\CLAIMS_FULL_20250312.bak")],
              gap=20, rb=1_944_301_552)
    ev.file_create(tgt, at("2025-03-12 17:30:30"), r["procs"][1], "C:\\ProgramData\\c.7z")
    ev.finalize()
    z = r["procs"][1]["ev"]
    alert = proc_alert(sid, r["wsmprovhost"]["ev"], "Incoming Execution via WinRM Remote Shell",
                       "A WinRM remote shell (wsmprovhost.exe) was started for a network logon that did not come from an administration host.", "high",
                       ["T1021.006"], "process event with process wsmprovhost.exe, by t1_praman on bos-sql-02 created high alert Incoming Execution via WinRM Remote Shell.",
                       'process where process.name : "wsmprovhost.exe" and event.type == "start"')
    why = (f"wsmprovhost.exe on {tgt} ({rec(r['wsmprovhost'])}) and its children run in logon {r['logon']['logon_id']}, t1_praman's network logon "
           f"{rec(r['logon']['event'])} from {ip}, not from BOS-JMP-02 where Priya Raman was actually working ({rec(legit['event'])}). The shell listed "
           f"D:\\SQLBackup and 7-zipped CLAIMS_FULL_20250312.bak with a password ({rec(z)}), and ~1.9 GB left over 5985 to {ip}. {ip} is {lap} (machine TGT "
           f"{rec(mt)}), Miriam Cohen's HR laptop, where a hidden PowerShell built a PSCredential for LMI\\t1_praman and ran New-PSSession / Copy-Item -FromSession ({rec(ps)}).")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t1_praman"), hkey(tgt), hkey(lap), ukey("mcohen"), "CLAIMS-DB"],
              "source": [hkey(lap), ukey("t1_praman")], "attack_path": [hkey(lap), ukey("t1_praman"), hkey(tgt), "CLAIMS-DB"],
              "impacted_assets": [hkey(tgt), "CLAIMS-DB"], "techniques": ["T1021.006", "T1560.001"],
              "must_not_cite": [hkey("BOS-JMP-02"), hkey("BOS-LT-1016"), hkey("BOS-SQL-01")], "why": why}
    return sid, "WinRM with the SQL admin's password from an HR laptop", ev, alert, expect, "tsv"


@scenario
def winrm_admin_from_jump_host():
    sid = "winrm-admin-from-jump-host"
    ev = Events(sid, "2025-03-10 12:30:00", "2025-03-10 14:00:00")
    ev.background(["BOS-JMP-02", "BOS-SQL-01", "BOS-LT-1019"], skip_users=("hokoye",))
    jmp, tgt = "BOS-JMP-02", "BOS-SQL-01"
    lij, exj = jump_in(ev, jmp, "t1_hokoye", "BOS-LT-1019", at("2025-03-10 13:05:20"))
    ps = ev.proc(jmp, at("2025-03-10 13:19:50"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"", exj, user="t1_hokoye", logon_id=lij["logon_id"], session="2")
    ev.netconn(jmp, at("2025-03-10 13:20:00"), ps, C(tgt).ip, 5985)
    r = winrm(ev, tgt, "t1_hokoye", jmp, at("2025-03-10 13:20:01"),
              [("C:\\Windows\\System32\\sc.exe", "\"C:\\Windows\\system32\\sc.exe\" query SQLSERVERAGENT"),
               ("C:\\Windows\\System32\\sc.exe", "\"C:\\Windows\\system32\\sc.exe\" stop SQLSERVERAGENT"),
               ("C:\\Windows\\System32\\sc.exe", "\"C:\\Windows\\system32\\sc.exe\" start SQLSERVERAGENT")], gap=40)
    ev.finalize()
    alert = proc_alert(sid, r["wsmprovhost"]["ev"], "Incoming Execution via WinRM Remote Shell",
                       "A WinRM remote shell (wsmprovhost.exe) was started on a server.", "medium", ["T1021.006"],
                       "process event with process wsmprovhost.exe, by t1_hokoye on bos-sql-01 created medium alert Incoming Execution via WinRM Remote Shell.",
                       'process where process.name : "wsmprovhost.exe" and event.type == "start"')
    why = (f"The WinRM shell on {tgt} ({rec(r['wsmprovhost'])}) belongs to t1_hokoye's logon {rec(r['logon']['event'])} from 10.40.8.22 = BOS-JMP-02, which she "
           f"reached by RDP from her own laptop BOS-LT-1019 ({rec(lij['event'])}); it only queried, stopped and restarted SQLSERVERAGENT ({rec(r['procs'][1])}). "
           "She is in GG-T1-ServerAdmins and GG-SQL-Admins, the jump host is the documented admin source and this is Monday business hours: routine SQL administration.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("t1_hokoye"), hkey(tgt), hkey(jmp)], "source": [hkey(jmp), ukey("t1_hokoye")], "impacted_assets": [],
              "techniques": ["T1021.006"], "must_not_cite": [hkey("BOS-SQL-11"), hkey("BOS-JMP-01")], "why": why}
    return sid, "SQL admin restarts the agent over WinRM from the jump host", ev, alert, expect, "json"


@scenario
def winrm_misfire_filtered_connection():
    sid = "winrm-misfire-filtered-connection"
    ev = Events(sid, "2025-03-13 18:30:00", "2025-03-13 20:00:00")
    ev.background(["BOS-LT-1120", "BOS-SQL-11"], skip_users=("kfischer",))
    lap, tgt = "BOS-LT-1120", "BOS-SQL-11"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 18:40:00"))
    lid, ex = desktop_session(ev, lap, "kfischer", at("2025-03-13 18:40:30"))
    ps = ev.proc(lap, at("2025-03-13 19:09:51"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -c \"Enter-PSSession BOS-SQL-11\"", ex, user="kfischer", logon_id=lid, integrity="Medium", session="1")
    zs = []
    for k in range(3):
        zs.append(ev.conn(at("2025-03-13 19:09:52", seconds=k * 3), ip, C(tgt).ip, 5985, state="S0"))
        ev.netconn(lap, at("2025-03-13 19:09:52", seconds=k * 3), ps, C(tgt).ip, 5985)
    ev.finalize()
    alert = ocsf_finding("cl-winrm-0313-1910", "2025-03-13 19:10:30", "WinRM lateral movement: remote shell session established",
                         f"HTTP/WS-Management session from {ip} to {C(tgt).ip}:5985 established; 48,211 bytes transferred.", "high", CORELIGHT,
                         ("corelight-winrm-01", "WinRM session from workstation", "Lateral Movement"), ["T1021.006"],
                         evidences=[{"src_endpoint": ocsf_endpoint(ip, port=zs[0]["id.orig_p"]), "dst_endpoint": ocsf_endpoint(C(tgt).ip, port=5985),
                                     "connection_info": {"protocol_name": "tcp", "direction": "Lateral", "direction_id": 3}}],
                         data_sources=["Zeek conn.log", "Zeek http.log"], unmapped={"uid": zs[0]["uid"], "bytes": 48211, "conn_state": "SF"})
    why = (f"Zeek has three attempts from {ip} to {C(tgt).ip}:5985 at 19:09:52-58 (uids {zs[0]['uid']}, {zs[1]['uid']}, {zs[2]['uid']}), all conn_state S0 with "
           f"only a SYN and 0 bytes: the host firewall dropped them, and {tgt} logged no logon from {ip}. The source is {lap} (machine TGT {rec(mt)}), where kfischer "
           f"typed Enter-PSSession BOS-SQL-11 ({rec(ps)}), an actuarial user with no admin rights there. No session and no 48 KB transfer happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(lap), hkey(tgt), ukey("kfischer")], "source": [hkey(lap), ukey("kfischer")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-SQL-01"), hkey("BOS-LT-1119")], "why": why}
    return sid, "Dropped WinRM attempts reported as an established session", ev, alert, expect, "json"


@scenario
def rdp_tier1_admin_from_actuarial_laptop():
    sid = "rdp-tier1-admin-from-actuarial-laptop"
    ev = Events(sid, "2025-03-13 20:30:00", "2025-03-13 22:30:00")
    ev.background(["BOS-LT-1090", "BOS-FS-02"], skip_users=("lbrennan", "kvance"))
    lap, tgt = "BOS-LT-1090", "BOS-FS-02"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 20:41:00"))
    lid, ex = desktop_session(ev, lap, "lbrennan", at("2025-03-13 20:41:40"))
    ms = ev.proc(lap, at("2025-03-13 21:39:50"), "C:\\Windows\\System32\\mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:BOS-FS-02.lmi.intra",
                 ex, user="lbrennan", logon_id=lid, integrity="Medium", session="1")
    e4648 = ev.sec(lap, at("2025-03-13 21:40:01"), 4648, {"SubjectUserSid": U("lbrennan").sid, "SubjectUserName": "lbrennan", "SubjectDomainName": NETBIOS,
                                                          "SubjectLogonId": lid, "LogonGuid": "{00000000-0000-0000-0000-000000000000}", "TargetUserName": "t1_kvance",
                                                          "TargetDomainName": NETBIOS, "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
                                                          "TargetServerName": "BOS-FS-02.lmi.intra", "TargetInfo": "TERMSRV/BOS-FS-02.lmi.intra",
                                                          "ProcessId": hex(ms["pid"]), "ProcessName": ms["image"], "IpAddress": "-", "IpPort": "-"})
    ev.netconn(lap, at("2025-03-13 21:40:02"), ms, C(tgt).ip, 3389)
    li, exr = rdp_session(ev, tgt, "t1_kvance", lap, at("2025-03-13 21:40:04"), duration=2400)
    z = ev.proc(tgt, at("2025-03-13 21:46:12"), "C:\\Program Files\\7-Zip\\7z.exe",
                "\"C:\\Program Files\\7-Zip\\7z.exe\" a C:\\Users\\t1_kvance\\Documents\\m.7z D:\\Shares\\Actuarial\\Models\\* -r",
                exr, user="t1_kvance", logon_id=li["logon_id"], session="2")
    ev.file_create(tgt, at("2025-03-13 21:52:40"), z, "C:\\Users\\t1_kvance\\Documents\\m.7z")
    ev.finalize()
    src = ecs_from_security(li["event"], action="logged-in")
    alert = elastic_alert(sid, fmt(li["event"]["_t"]), "First Time Seen Remote Desktop Source for Server",
                          "New terms: an RDP (LogonType 10) logon to a server from a source address not seen for this server in the last 30 days.", "medium",
                          ["T1021.001"], f"New RDP source {ip} for bos-fs-02 (user t1_kvance).", src, rule_type="new_terms",
                          query='event.code:"4624" and winlog.logon.type:"RemoteInteractive"', ancestors=ancestors_for([li["event"]], SECURITY_INDEX),
                          original_event={"code": "4624", "action": "logged-in", "kind": "event", "module": "system"},
                          extra={"kibana.alert.new_terms": [ip]})
    why = (f"The LogonType 10 logon of t1_kvance on {tgt} ({rec(li['event'])}, session {li['logon_id']}) came from {ip} = {lap} (machine TGT {rec(mt)}), "
           f"Liam Brennan's actuarial laptop, where lbrennan's mstsc supplied t1_kvance's credentials ({rec(e4648)}) at 21:40 UTC. Tier-1 accounts must "
           f"RDP from BOS-JMP-01/02 only. In that session 7-Zip packed D:\\Shares\\Actuarial\\Models into m.7z in the admin's profile ({rec(z)}): "
           "an admin credential used from the wrong host to stage the ACTUARIAL-MODELS crown jewel.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t1_kvance"), hkey(tgt), hkey(lap), ukey("lbrennan"), "ACTUARIAL-MODELS"],
              "source": [hkey(lap), ukey("t1_kvance")], "attack_path": [hkey(lap), ukey("t1_kvance"), hkey(tgt), "ACTUARIAL-MODELS"],
              "impacted_assets": [hkey(tgt), "ACTUARIAL-MODELS"], "techniques": ["T1021.001", "T1078.002"],
              "must_not_cite": [hkey("BOS-FS-01"), hkey("BOS-LT-1091"), hkey("BOS-JMP-01")], "why": why}
    return sid, "Tier-1 admin RDP from an actuarial laptop stages the models", ev, alert, expect, "tsv"


@scenario
def rdp_tier0_credential_in_tier1_jump_session():
    sid = "rdp-tier0-credential-in-tier1-jump-session"
    ev = Events(sid, "2025-03-14 02:00:00", "2025-03-14 03:30:00")
    ev.background(["BOS-JMP-01", "BOS-LT-1013"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"], density=0.5, skip_users=("bquinn", "rnakamura"))
    jmp, dc = "BOS-JMP-01", "BOS-ADDS-02"
    lij, exj = jump_in(ev, jmp, "t1_bquinn", "BOS-LT-1013", at("2025-03-14 02:31:08"))
    ms = ev.proc(jmp, at("2025-03-14 02:49:40"), "C:\\Windows\\System32\\mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:BOS-ADDS-02",
                 exj, user="t1_bquinn", logon_id=lij["logon_id"], session="2")
    e4648 = ev.sec(jmp, at("2025-03-14 02:49:58"), 4648, {"SubjectUserSid": U("t1_bquinn").sid, "SubjectUserName": "t1_bquinn", "SubjectDomainName": NETBIOS,
                                                          "SubjectLogonId": lij["logon_id"], "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
                                                          "TargetUserName": "t0_rnakamura", "TargetDomainName": NETBIOS, "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
                                                          "TargetServerName": "BOS-ADDS-02", "TargetInfo": "TERMSRV/BOS-ADDS-02", "ProcessId": hex(ms["pid"]),
                                                          "ProcessName": ms["image"], "IpAddress": "-", "IpPort": "-"})
    li, exd = rdp_session(ev, dc, "t0_rnakamura", jmp, at("2025-03-14 02:50:02"), duration=900)
    net = ev.proc(dc, at("2025-03-14 02:53:15"), "C:\\Windows\\System32\\net.exe", 'net group "Domain Admins" t1_bquinn /add /domain', exd,
                  user="t0_rnakamura", logon_id=li["logon_id"], session="2")
    add = ev.group_change(dc, at("2025-03-14 02:53:15.400"), 4728, "t0_rnakamura", li["logon_id"], "t1_bquinn", "Domain Admins")
    ev.finalize()
    src = ecs_from_security(li["event"], os_name="Windows Server 2022 Datacenter", action="logged-in")
    alert = elastic_alert(sid, fmt(li["event"]["_t"]), "Tier-0 account interactive logon from non-PAW source",
                          "A member of GG-T0-Admins logged on interactively or over RDP to a domain controller from an address outside the PAW subnet 10.40.9.0/24.",
                          "high", ["T1021.001", "T1078.002"], f"t0_rnakamura RemoteInteractive logon to bos-adds-02 from 10.40.8.21.", src, rule_type="query",
                          query='event.code:"4624" and winlog.logon.type:("Interactive" or "RemoteInteractive") and user.name:t0_* and not source.ip:"10.40.9.0/24"',
                          ancestors=ancestors_for([li["event"]], SECURITY_INDEX), original_event={"code": "4624", "action": "logged-in", "kind": "event", "module": "system"})
    why = (f"t0_rnakamura's RDP logon to {dc} ({rec(li['event'])}) came from 10.40.8.21 = BOS-JMP-01, the tier-1 jump host, not a PAW; on BOS-JMP-01 the "
           f"session that launched mstsc /v:BOS-ADDS-02 belongs to t1_bquinn (RDP from his laptop BOS-LT-1013, {rec(lij['event'])}), and {rec(e4648)} shows "
           f"him supplying t0_rnakamura's credentials at 02:49 UTC. Three minutes later that DC session ran net group \"Domain Admins\" t1_bquinn /add ({rec(net)}) "
           f"and {rec(add)} recorded it: a tier-1 admin using a colleague's tier-0 credential to make himself Domain Admin.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t0_rnakamura"), ukey("t1_bquinn"), hkey(dc), hkey(jmp), hkey("BOS-LT-1013"), gkey("Domain Admins")],
              "source": [hkey(jmp), ukey("t1_bquinn")],
              "attack_path": [hkey("BOS-LT-1013"), ukey("t1_bquinn"), hkey(jmp), ukey("t0_rnakamura"), hkey(dc)],
              "impacted_assets": [hkey(dc), DOMAIN], "techniques": ["T1021.001", "T1078.002", "T1098"],
              "must_not_cite": [hkey("BOS-PAW-01"), hkey("BOS-JMP-02"), hkey("BOS-ADDS-01")], "why": why}
    return sid, "Tier-0 credential typed in a tier-1 admin's jump-host session", ev, alert, expect, "tsv"


@scenario
def rdp_admin_from_jump_host():
    sid = "rdp-admin-from-jump-host"
    ev = Events(sid, "2025-03-11 13:30:00", "2025-03-11 15:00:00")
    ev.background(["BOS-JMP-01", "BOS-APP-03", "BOS-LT-1012"], skip_users=("gmarsh",))
    jmp, tgt = "BOS-JMP-01", "BOS-APP-03"
    lij, exj = jump_in(ev, jmp, "t1_gmarsh", "BOS-LT-1012", at("2025-03-11 13:58:03"))
    ms = ev.proc(jmp, at("2025-03-11 14:04:50"), "C:\\Windows\\System32\\mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:BOS-APP-03",
                 exj, user="t1_gmarsh", logon_id=lij["logon_id"], session="2")
    li, exr = rdp_session(ev, tgt, "t1_gmarsh", jmp, at("2025-03-11 14:05:00"), duration=1500)
    mmc = ev.proc(tgt, at("2025-03-11 14:06:30"), "C:\\Windows\\System32\\mmc.exe", "\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\compmgmt.msc\" /s",
                  exr, user="t1_gmarsh", logon_id=li["logon_id"], session="2")
    ev.finalize()
    src = ecs_from_security(li["event"], action="logged-in")
    alert = elastic_alert(sid, fmt(li["event"]["_t"]), "First Time Seen Remote Desktop Source for Server",
                          "New terms: an RDP (LogonType 10) logon to a server from a source address not seen for this server in the last 30 days.", "medium",
                          ["T1021.001"], "New RDP source 10.40.8.21 for bos-app-03 (user t1_gmarsh).", src, rule_type="new_terms",
                          query='event.code:"4624" and winlog.logon.type:"RemoteInteractive"', ancestors=ancestors_for([li["event"]], SECURITY_INDEX),
                          original_event={"code": "4624", "action": "logged-in", "kind": "event", "module": "system"}, extra={"kibana.alert.new_terms": ["10.40.8.21"]})
    why = (f"t1_gmarsh's RDP logon to {tgt} ({rec(li['event'])}) came from 10.40.8.21 = BOS-JMP-01, the documented tier-1 jump host, which he reached from his "
           f"own laptop BOS-LT-1012 ({rec(lij['event'])}); in the session he opened Computer Management ({rec(mmc)}). He is in GG-T1-ServerAdmins (AdminTo "
           f"{tgt}), it is Tuesday 14:05 UTC, and the jump host is the only source SEC-STD-011 allows: new for this server, but sanctioned administration.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("t1_gmarsh"), hkey(tgt), hkey(jmp)], "source": [hkey(jmp), ukey("t1_gmarsh")], "impacted_assets": [],
              "techniques": ["T1021.001"], "must_not_cite": [ukey("gmarsh2"), hkey("BOS-APP-08"), hkey("BOS-JMP-02")], "why": why}
    return sid, "Server admin RDP from the jump host, first time for this server", ev, alert, expect, "tsv"


@scenario
def rdp_misfire_network_logon_from_jump_host():
    sid = "rdp-misfire-network-logon-from-jump-host"
    ev = Events(sid, "2025-03-12 14:30:00", "2025-03-12 16:00:00")
    ev.background(["BOS-JMP-02", "BOS-APP-07", "BOS-LT-1019"], skip_users=("hokoye",))
    jmp, tgt = "BOS-JMP-02", "BOS-APP-07"
    lij, exj = jump_in(ev, jmp, "t1_hokoye", "BOS-LT-1019", at("2025-03-12 15:01:10"))
    li = net_logon(ev, tgt, "t1_hokoye", jmp, at("2025-03-12 15:30:04"), zeek_bytes=(9300, 2_410_220))
    sh = ev.share(tgt, at("2025-03-12 15:30:04.200"), "t1_hokoye", li["logon_id"], C(jmp).ip, "C$", "\\??\\C:\\")
    ev.share_file(tgt, at("2025-03-12 15:30:05"), "t1_hokoye", li["logon_id"], C(jmp).ip, "C$", "\\??\\C:\\",
                  "Program Files\\Microsoft SQL Server Reporting Services\\SSRS\\LogFiles\\ReportServerService__03_12_2025_00_00_01.log", access="0x120089")
    ev.logoff(tgt, at("2025-03-12 15:33:10"), "t1_hokoye", li["logon_id"])
    ev.finalize()
    e = li["event"]
    alert = ocsf_finding("tz-rdp-t1-0312-1530", "2025-03-12 15:30:20", "RDP logon to server from user workstation",
                         f"t1_hokoye RemoteInteractive (LogonType 10) logon to {tgt} from {C('BOS-LT-1019').ip} (BOS-LT-1019).", "medium", TENZIR,
                         ("sigma-lmi-0240", "RDP to server not from jump host", "Lateral Movement"), ["T1021.001"],
                         evidences=[{"actor": {"user": ocsf_user("t1_hokoye")}, "src_endpoint": ocsf_endpoint(C("BOS-LT-1019").ip, "BOS-LT-1019"),
                                     "dst_endpoint": ocsf_endpoint(C(tgt).ip, f"{tgt}.lmi.intra", 3389)}],
                         device=ocsf_device(f"{tgt}.lmi.intra", C(tgt).ip), related=[related_event(e)],
                         unmapped={"LogonType": "10", "TargetLogonId": e["TargetLogonId"]})
    why = (f"The logon the alert references ({rec(e)}, TargetLogonId {e['TargetLogonId']}) is LogonType 3 (Kerberos network), from 10.40.8.22 = BOS-JMP-02, "
           f"not type 10 from BOS-LT-1019; it opened C$ and read an SSRS log file ({rec(sh)}), and Zeek shows only port 445 from the jump host, no 3389. "
           "t1_hokoye was administering from the jump host as documented; no RDP from her laptop to the server happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t1_hokoye"), hkey(tgt), hkey(jmp)], "source": [hkey(jmp), ukey("t1_hokoye")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-LT-1019"), hkey("BOS-APP-01")], "why": why}
    return sid, "SMB log read from the jump host reported as RDP from a laptop", ev, alert, expect, "tsv"


@scenario
def winrm_jump_host_admin_lsass_dump_at_night():
    sid = "winrm-jump-host-admin-lsass-dump-at-night"
    ev = Events(sid, "2025-03-15 02:30:00", "2025-03-15 04:00:00")
    ev.background(["BOS-JMP-02", "BOS-SQL-01", "BOS-LT-1019"], density=0.6, skip_users=("hokoye",))
    jmp, tgt = "BOS-JMP-02", "BOS-SQL-01"
    lij, exj = jump_in(ev, jmp, "t1_hokoye", "BOS-LT-1019", at("2025-03-15 02:58:11"))
    ps = ev.proc(jmp, at("2025-03-15 03:04:40"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"", exj, user="t1_hokoye", logon_id=lij["logon_id"], session="2")
    ev.netconn(jmp, at("2025-03-15 03:05:00"), ps, C(tgt).ip, 5985)
    ls = ev.lsass(tgt)
    r = winrm(ev, tgt, "t1_hokoye", jmp, at("2025-03-15 03:05:01"),
              [("C:\\Windows\\System32\\rundll32.exe", f"\"C:\\Windows\\system32\\rundll32.exe\" C:\\Windows\\System32\\comsvcs.dll, MiniDump {ls['pid']} C:\\ProgramData\\sqlagent.dmp full"),
               (CMD, "\"C:\\Windows\\system32\\cmd.exe\" /c del C:\\ProgramData\\sqlagent.dmp")], gap=90, rb=71_882_310)
    acc = ev.proc_access(tgt, at("2025-03-15 03:05:07.300"), r["procs"][0], ls, "0x1FFFFF")
    fc = ev.file_create(tgt, at("2025-03-15 03:05:09"), r["procs"][0], "C:\\ProgramData\\sqlagent.dmp")
    ev.finalize()
    rd = r["procs"][0]["ev"]
    alert = proc_alert(sid, rd, "Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump)",
                       "rundll32 invoking comsvcs.dll MiniDump against the LSASS process ID.", "high", ["T1003.001"],
                       "process event with process rundll32.exe, parent process wsmprovhost.exe, by t1_hokoye on bos-sql-01 created high alert Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump).",
                       'process where process.name : "rundll32.exe" and process.args : "*comsvcs*" and process.args : "MiniDump"')
    why = (f"Everything about the session looks documented - t1_hokoye (GG-T1-ServerAdmins, GG-SQL-Admins) over WinRM ({rec(r['logon']['event'])}) from 10.40.8.22 = "
           f"BOS-JMP-02, reached by RDP from her own laptop BOS-LT-1019 ({rec(lij['event'])}) - except what and when: at 03:05 UTC on a Saturday the remote shell ran "
           f"rundll32 comsvcs.dll MiniDump of lsass ({rec(rd)}; lsass opened 0x1FFFFF, {rec(acc)}; dump written {rec(fc)}), ~72 MB went back to the jump host over 5985 "
           f"and the dump was deleted ({rec(r['procs'][1])}). No change or support case covers BOS-SQL-01; SQL administration never needs an LSASS dump: credential theft "
           "by (or with the session of) a real admin, from the sanctioned admin host.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t1_hokoye"), hkey(tgt), hkey(jmp), hkey("BOS-LT-1019")],
              "source": [hkey(jmp), ukey("t1_hokoye")], "attack_path": [hkey("BOS-LT-1019"), ukey("t1_hokoye"), hkey(jmp), hkey(tgt)],
              "impacted_assets": [hkey(tgt), "POLICYHOLDER-DB"], "techniques": ["T1021.006", "T1003.001"],
              "must_not_cite": [hkey("BOS-SQL-11"), hkey("BOS-JMP-01"), hkey("BOS-APP-02")], "why": why}
    return sid, "Admin on the sanctioned jump host dumps LSASS on a SQL server at 03:05 on a Saturday", ev, alert, expect, "tsv"


@scenario
def rdp_helpdesk_console_to_user_laptop():
    sid = "rdp-helpdesk-console-to-user-laptop"
    ev = Events(sid, "2025-03-13 14:00:00", "2025-03-13 15:30:00")
    ev.background(["BOS-HDK-02", "BOS-LT-1059"], skip_users=("mchen",))
    hdk, tgt = "BOS-HDK-02", "BOS-LT-1059"
    owner = C(tgt).owner
    machine_online(ev, hdk, at("2025-03-13 14:02:00"))
    lid, ex = desktop_session(ev, hdk, "t2_mchen", at("2025-03-13 14:03:00"))
    mt = machine_online(ev, tgt, at("2025-03-13 14:05:00"))
    ul, uex = desktop_session(ev, tgt, owner, at("2025-03-13 14:05:30"))
    ms = ev.proc(hdk, at("2025-03-13 14:27:40"), "C:\\Windows\\System32\\mstsc.exe", f"\"C:\\Windows\\system32\\mstsc.exe\" /v:{tgt}.lmi.intra",
                 ex, user="t2_mchen", logon_id=lid, integrity="High", session="1")
    li, exr = rdp_session(ev, tgt, "t2_mchen", hdk, at("2025-03-13 14:27:51"), duration=900)
    ap = ev.proc(tgt, at("2025-03-13 14:29:10"), "C:\\Windows\\System32\\msiexec.exe",
                 "\"C:\\Windows\\system32\\msiexec.exe\" /i \"\\\\BOS-MECM-01\\Sources$\\Apps\\Adobe\\AcroRdrDCx642400520414_MUI.msi\" /qb",
                 exr, user="t2_mchen", logon_id=li["logon_id"], session="2")
    ev.finalize()
    src = ecs_from_security(li["event"], os_name=WIN11, action="logged-in")
    alert = elastic_alert(sid, fmt(li["event"]["_t"]), "Remote Desktop logon to workstation by privileged account",
                          "An admin (t0_/t1_/t2_) account opened an RDP session on a user workstation.", "medium", ["T1021.001"],
                          f"t2_mchen RemoteInteractive logon to {tgt.lower()} from {C(hdk).ip}.", src, rule_type="query",
                          query='event.code:"4624" and winlog.logon.type:"RemoteInteractive" and user.name:(t0_* or t1_* or t2_*) and host.name:(bos-lt-* or pvd-dt-*)',
                          ancestors=ancestors_for([li["event"]], SECURITY_INDEX), original_event={"code": "4624", "action": "logged-in", "kind": "event", "module": "system"})
    why = (f"t2_mchen (GG-T2-Helpdesk, local admin on workstations) opened RDP to {tgt} ({rec(li['event'])}) from {C(hdk).ip} = BOS-HDK-02, a documented service-desk "
           f"console where she was signed in ({rec(ms)}), at 14:27 UTC on a Thursday within the desk's hours, while the laptop's owner was signed in; in the session "
           f"she installed Adobe Reader from the MECM sources share ({rec(ap)}). Who, from where, what and when fit the service desk's documented role.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("t2_mchen"), hkey(tgt), hkey(hdk)], "source": [hkey(hdk), ukey("t2_mchen")], "impacted_assets": [],
              "techniques": ["T1021.001"], "must_not_cite": [hkey("BOS-HDK-01"), hkey("BOS-LT-1058"), ukey("mchen")], "why": why}
    return sid, "Service desk RDP from the console to a user's laptop", ev, alert, expect, "json"
