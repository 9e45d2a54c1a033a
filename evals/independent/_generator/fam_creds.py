"""Credential dumping: LSASS memory, registry hives, NTDS.dit."""
from __future__ import annotations

from datetime import timedelta

from alerts import (SECURITY_INDEX, SYSMON_INDEX, ancestors_for, ecs_from_security, ecs_from_sysmon1, elastic_alert, ocsf_device,
                    ocsf_endpoint, ocsf_finding, ocsf_user, related_event)
from common import DOMAIN, NETBIOS
from enterprise import C, U, IP_OF, hkey, ukey
from scen import MDI, TENZIR, at, desktop_session, fmt, jump_in, machine_online, net_logon, psexec, rdp_session, rec, scenario, wmiexec
from winevt import Events
from fam_lateral import proc_alert

CMD = "C:\\Windows\\System32\\cmd.exe"
REG = "C:\\Windows\\System32\\reg.exe"
DC_OS = "Windows Server 2022 Datacenter"
LSASS_TRACE = ("C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\System32\\dbgcore.DLL+6cc9|"
               "C:\\Windows\\System32\\dbgcore.DLL+9b12|C:\\Windows\\System32\\comsvcs.dll+3e4d1|C:\\Windows\\System32\\rundll32.exe+3c1b")


@scenario
def lsass_dump_comsvcs_on_reporting_server():
    sid = "lsass-dump-comsvcs-on-reporting-server"
    ev = Events(sid, "2025-03-13 19:00:00", "2025-03-13 20:30:00")
    ev.background(["BOS-LT-1077", "BOS-APP-07"], skip_users=("rmurphy", "lbrandt"))
    lap, tgt = "BOS-LT-1077", "BOS-APP-07"
    mt = machine_online(ev, lap, at("2025-03-13 19:05:00"))
    lid, ex = desktop_session(ev, lap, "rmurphy", at("2025-03-13 19:05:40"))
    ms = ev.proc(lap, at("2025-03-13 19:49:02"), "C:\\Windows\\System32\\mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:10.40.16.57",
                 ex, user="rmurphy", logon_id=lid, integrity="Medium", session="1")
    li, exr = rdp_session(ev, tgt, "t1_lbrandt", lap, at("2025-03-13 19:49:10"), duration=1900, src_name=lap)
    cmd = ev.proc(tgt, at("2025-03-13 19:54:40"), CMD, "\"C:\\Windows\\system32\\cmd.exe\"", exr, user="t1_lbrandt", logon_id=li["logon_id"], session="2")
    ls = ev.lsass(tgt)
    rd = ev.proc(tgt, at("2025-03-13 19:55:02"), "C:\\Windows\\System32\\rundll32.exe",
                 f"rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump {ls['pid']} C:\\Windows\\Temp\\wer_6e1.dmp full",
                 cmd, user="t1_lbrandt", logon_id=li["logon_id"], session="2")
    acc = ev.proc_access(tgt, at("2025-03-13 19:55:02.300"), rd, ls, "0x1FFFFF", calltrace=LSASS_TRACE)
    fc = ev.file_create(tgt, at("2025-03-13 19:55:04"), rd, "C:\\Windows\\Temp\\wer_6e1.dmp")
    ev.finalize()
    alert = proc_alert(sid, rd["ev"], "Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump)",
                       "rundll32 invoking comsvcs.dll MiniDump against the LSASS process ID.", "high", ["T1003.001"],
                       "process event with process rundll32.exe, parent process cmd.exe, by t1_lbrandt on bos-app-07 created high alert Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump).",
                       'process where process.name : "rundll32.exe" and process.args : "*comsvcs*" and process.args : "MiniDump"')
    why = (f"rundll32 comsvcs.dll MiniDump {ls['pid']} ({rec(rd)}) opened lsass.exe with 0x1FFFFF ({rec(acc)}) and wrote C:\\Windows\\Temp\\wer_6e1.dmp ({rec(fc)}) "
           f"in logon {li['logon_id']}: t1_lbrandt's RDP session {rec(li['event'])} from {C(lap).ip} = {lap} (machine TGT {rec(mt)}), Rory Murphy's claims laptop, "
           f"started from rmurphy's mstsc ({rec(ms)}) instead of a jump host. BOS-APP-07 still holds a session of t0_dfoley (SharpHound), so the dump exposes a "
           "tier-0 credential.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t1_lbrandt"), hkey(tgt), hkey(lap), ukey("rmurphy")],
              "source": [hkey(lap), ukey("t1_lbrandt")], "attack_path": [hkey(lap), ukey("t1_lbrandt"), hkey(tgt)],
              "impacted_assets": [hkey(tgt), DOMAIN], "techniques": ["T1003.001", "T1021.001"],
              "must_not_cite": [hkey("BOS-APP-06"), hkey("BOS-LT-1078"), hkey("BOS-APP-01")], "why": why}
    return sid, "LSASS minidump with comsvcs.dll on the reporting server", ev, alert, expect, "tsv"


@scenario
def lsass_procdump_admin_from_own_laptop():
    sid = "lsass-procdump-admin-from-own-laptop"
    ev = Events(sid, "2025-03-11 13:45:00", "2025-03-11 15:30:00")
    ev.background(["BOS-LT-1013", "BOS-APP-02", "BOS-JMP-01"], skip_users=("bquinn",))
    lap, tgt = "BOS-LT-1013", "BOS-APP-02"
    mt = machine_online(ev, lap, at("2025-03-11 13:50:00"))
    lid, ex = desktop_session(ev, lap, "bquinn", at("2025-03-11 13:50:40"))
    li, exr = rdp_session(ev, tgt, "t1_bquinn", lap, at("2025-03-11 14:31:20"), duration=1800)
    ls = ev.lsass(tgt)
    pd = ev.proc(tgt, at("2025-03-11 14:35:11"), "C:\\Tools\\Sysinternals\\procdump64.exe",
                 "C:\\Tools\\Sysinternals\\procdump64.exe -accepteula -ma lsass.exe C:\\Temp\\lsass_case2503110040001872.dmp",
                 exr, user="t1_bquinn", logon_id=li["logon_id"], session="2")
    acc = ev.proc_access(tgt, at("2025-03-11 14:35:11.500"), pd, ls, "0x1FFFFF")
    fc = ev.file_create(tgt, at("2025-03-11 14:35:14"), pd, "C:\\Temp\\lsass_case2503110040001872.dmp")
    smb = net_logon(ev, tgt, "bquinn", lap, at("2025-03-11 14:41:30"), zeek_bytes=(41_200, 61_882_113))
    ev.share(tgt, at("2025-03-11 14:41:30.200"), "bquinn", smb["logon_id"], C(lap).ip, "C$", "\\??\\C:\\")
    rd = ev.share_file(tgt, at("2025-03-11 14:41:31"), "bquinn", smb["logon_id"], C(lap).ip, "C$", "\\??\\C:\\", "Temp\\lsass_case2503110040001872.dmp", access="0x120089")
    ev.finalize()
    alert = proc_alert(sid, pd["ev"], "Potential LSASS Memory Dump via ProcDump",
                       "ProcDump executed with -ma against lsass.exe.", "high", ["T1003.001"],
                       "process event with process procdump64.exe, by t1_bquinn on bos-app-02 created high alert Potential LSASS Memory Dump via ProcDump.",
                       'process where process.pe.original_file_name == "procdump" and process.args : "-ma" and process.args : "lsass*"')
    why = (f"The change CHG-3381 on {tgt}'s inventory tags allows a diagnostic LSASS dump on 2025-03-11 14:00-16:00 UTC by t1_bquinn from BOS-JMP-01. The dump "
           f"({rec(pd)}, lsass access {rec(acc)}) fits who, what and when, but the RDP session that ran it ({rec(li['event'])}) came from {C(lap).ip} = {lap} "
           f"(machine TGT {rec(mt)}), Bilal Quinn's laptop, not the jump host, and six minutes later his normal account pulled the 60 MB dump to that laptop "
           f"over C$ ({rec(rd)}). A tier-1 credential dump leaving the server for a workstation is outside the approval.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t1_bquinn"), hkey(tgt), hkey(lap), ukey("bquinn")],
              "source": [hkey(lap), ukey("t1_bquinn")], "attack_path": [hkey(lap), ukey("t1_bquinn"), hkey(tgt)],
              "impacted_assets": [hkey(tgt)], "techniques": ["T1003.001"],
              "must_not_cite": [hkey("BOS-JMP-01"), hkey("BOS-APP-03"), hkey("BOS-LT-1012")], "why": why}
    return sid, "Approved LSASS dump taken from the admin's laptop and copied to it", ev, alert, expect, "tsv"


@scenario
def lsass_procdump_ms_support_case():
    sid = "lsass-procdump-ms-support-case"
    ev = Events(sid, "2025-03-11 13:45:00", "2025-03-11 15:30:00")
    ev.background(["BOS-LT-1013", "BOS-APP-02", "BOS-JMP-01"], skip_users=("bquinn",))
    jmp, tgt = "BOS-JMP-01", "BOS-APP-02"
    lij, exj = jump_in(ev, jmp, "t1_bquinn", "BOS-LT-1013", at("2025-03-11 14:09:40"))
    ms = ev.proc(jmp, at("2025-03-11 14:14:58"), "C:\\Windows\\System32\\mstsc.exe", "\"C:\\Windows\\system32\\mstsc.exe\" /v:BOS-APP-02",
                 exj, user="t1_bquinn", logon_id=lij["logon_id"], session="2")
    li, exr = rdp_session(ev, tgt, "t1_bquinn", jmp, at("2025-03-11 14:15:05"), duration=1500)
    ls = ev.lsass(tgt)
    pd = ev.proc(tgt, at("2025-03-11 14:20:31"), "C:\\Tools\\Sysinternals\\procdump64.exe",
                 "C:\\Tools\\Sysinternals\\procdump64.exe -accepteula -ma lsass.exe C:\\Temp\\lsass_case2503110040001872.dmp",
                 exr, user="t1_bquinn", logon_id=li["logon_id"], session="2")
    acc = ev.proc_access(tgt, at("2025-03-11 14:20:31.400"), pd, ls, "0x1FFFFF")
    ev.file_create(tgt, at("2025-03-11 14:20:34"), pd, "C:\\Temp\\lsass_case2503110040001872.dmp")
    ev.finalize()
    alert = proc_alert(sid, pd["ev"], "Potential LSASS Memory Dump via ProcDump",
                       "ProcDump executed with -ma against lsass.exe.", "high", ["T1003.001"],
                       "process event with process procdump64.exe, by t1_bquinn on bos-app-02 created high alert Potential LSASS Memory Dump via ProcDump.",
                       'process where process.pe.original_file_name == "procdump" and process.args : "-ma" and process.args : "lsass*"')
    why = (f"{tgt}'s inventory tags record Microsoft support case 2503110040001872 and CHG-3381: an LSASS diagnostic dump on 2025-03-11 14:00-16:00 UTC by "
           f"t1_bquinn from BOS-JMP-01. The dump ({rec(pd)}, file named after the case) ran at 14:20 in t1_bquinn's RDP session {rec(li['event'])} from 10.40.8.21 "
           f"= BOS-JMP-01, reached from his laptop ({rec(lij['event'])}), and the file stayed in C:\\Temp on the server. Who, from where, what and when all match "
           "the approval.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("t1_bquinn"), hkey(tgt), hkey(jmp)], "source": [hkey(jmp), ukey("t1_bquinn")], "impacted_assets": [],
              "techniques": ["T1003.001"], "must_not_cite": [hkey("BOS-APP-03"), hkey("BOS-JMP-02")], "why": why}
    return sid, "Approved LSASS dump for a Microsoft support case", ev, alert, expect, "json"


@scenario
def lsass_misfire_defender_query_handle():
    sid = "lsass-misfire-defender-query-handle"
    ev = Events(sid, "2025-03-12 10:30:00", "2025-03-12 11:30:00")
    ev.background(["BOS-APP-03"])
    tgt = "BOS-APP-03"
    ls = ev.lsass(tgt)
    mp = ev.sysproc(tgt, "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MsMpEng.exe", 3000 + (sum(map(ord, tgt)) % 100) * 4)
    accs = [ev.proc_access(tgt, at("2025-03-12 11:02:14", seconds=k * 31), mp, ls, "0x1000",
                           calltrace="C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+3a2ff|C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\mpsvc.dll+1f2a81")
            for k in range(3)]
    ev.finalize()
    a = accs[0]
    alert = ocsf_finding("tz-lsass-read-0312-1102", "2025-03-12 11:02:40", "LSASS memory read by suspicious process",
                         f"C:\\Windows\\Temp\\svchost.exe opened lsass.exe (pid {ls['pid']}) on {tgt} with PROCESS_VM_READ | PROCESS_QUERY_INFORMATION (0x1410).",
                         "critical", TENZIR, ("sigma-lmi-0301", "LSASS access with read rights from unusual path", "Credential Access"), ["T1003.001"],
                         evidences=[{"process": {"name": "lsass.exe", "pid": ls["pid"]},
                                     "actor": {"process": {"name": "svchost.exe", "file": {"path": "C:\\Windows\\Temp\\svchost.exe"}, "pid": int(a["SourceProcessId"])}},
                                     "device": {"hostname": f"{tgt}.lmi.intra", "ip": C(tgt).ip}}],
                         device=ocsf_device(f"{tgt}.lmi.intra", C(tgt).ip), related=[related_event(a)],
                         unmapped={"GrantedAccess": "0x1410", "SourceImage": "C:\\Windows\\Temp\\svchost.exe"})
    why = (f"The Sysmon 10 events at 11:02 on {tgt} ({rec(accs[0])}, pid {a['SourceProcessId']}) show SourceImage MsMpEng.exe (Microsoft Defender) with "
           f"GrantedAccess 0x1000 (PROCESS_QUERY_LIMITED_INFORMATION), which cannot read memory, repeating every ~30 s; no process C:\\Windows\\Temp\\svchost.exe "
           "was ever created on the host and no 0x1410/0x1010 access exists. The alert's image path and rights are not in the telemetry.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(tgt)], "impacted_assets": [], "techniques": [], "must_not_cite": [hkey("BOS-APP-08"), hkey("BOS-APP-02")], "why": why}
    return sid, "Defender's query-only handle to LSASS reported as a memory read", ev, alert, expect, "tsv"


def veeam_prefreeze(ev, tgt, t):
    t = ev._t(t)
    ip = C("BOS-BKP-01").ip
    li = ev.logon(tgt, t, "svc-veeam", 3, src_ip=ip)
    ev.conn(t - timedelta(milliseconds=300), ip, C(tgt).ip, 6160, service="-", ob=2300, rb=1900)
    ev.conn(t, ip, C(tgt).ip, 445, service="smb,gssapi", ob=3_100_000, rb=41_000, duration=41.0)
    inst = ev.sysproc(tgt, "C:\\Program Files\\Veeam\\Installer Service\\VeeamDeploymentSvc.exe", 2900, user="SYSTEM")
    gh = ev.proc(tgt, t + timedelta(seconds=6), "C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe",
                 "\"C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe\" /PreFreeze /JobId:7c2d19e4-4a3b-4c81-9e02-b1f5a6d0c3e7", inst,
                 user="svc-veeam", logon_id=li["logon_id"])
    saves = []
    for k, (hive, f) in enumerate([("HKLM\\SAM", "sam.hiv"), ("HKLM\\SECURITY", "security.hiv"), ("HKLM\\SYSTEM", "system.hiv")]):
        saves.append(ev.proc(tgt, t + timedelta(seconds=8 + k * 3), REG, f"reg.exe save {hive} D:\\VeeamPreFreeze\\{f} /y", gh,
                             user="svc-veeam", logon_id=li["logon_id"]))
    ev.conn(t + timedelta(seconds=20), C(tgt).ip, C("BOS-BKP-02").ip, 2500, service="-", ob=9_800_000_000 // 7, rb=412_000, duration=2410.0)
    ev.logoff(tgt, t + timedelta(minutes=41), "svc-veeam", li["logon_id"])
    return li, gh, saves


@scenario
def registry_hives_saved_via_psexec_on_app_server():
    sid = "registry-hives-saved-via-psexec-on-app-server"
    ev = Events(sid, "2025-03-12 22:30:00", "2025-03-13 00:00:00")
    ev.background(["BOS-LT-1042", "BOS-APP-01"], density=0.6, skip_users=("kholm",))
    lap, tgt = "BOS-LT-1042", "BOS-APP-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-12 22:41:00"))
    sched = ev.svchost(lap)
    tool = ev.proc(lap, at("2025-03-12 23:19:50"), "C:\\ProgramData\\Adobe\\ARM\\armsvc64.exe",
                   "C:\\ProgramData\\Adobe\\ARM\\armsvc64.exe -target 10.40.16.51 -u svc-mecm-push -d LMI", sched, user="SYSTEM", integrity="System")
    ev.netconn(lap, at("2025-03-12 23:19:58"), tool, C(tgt).ip, 445)
    r = psexec(ev, tgt, "svc-mecm-push", lap, at("2025-03-12 23:20:01"),
               [(CMD, "cmd.exe"), (REG, "reg.exe save HKLM\\SAM C:\\Windows\\Temp\\s.save /y"), (REG, "reg.exe save HKLM\\SECURITY C:\\Windows\\Temp\\e.save /y"),
                (REG, "reg.exe save HKLM\\SYSTEM C:\\Windows\\Temp\\y.save /y"),
                ("C:\\Windows\\System32\\wevtutil.exe", "wevtutil.exe cl Security")], svc_name="ARMSVC", svc_image="%SystemRoot%\\armsvc.exe", gap=15)
    lid = r["logon"]["logon_id"]
    reads = [ev.share_file(tgt, at("2025-03-12 23:21:20", seconds=k), "svc-mecm-push", lid, ip, "ADMIN$", "\\??\\C:\\Windows", f"Temp\\{f}", access="0x120089")
             for k, f in enumerate(["s.save", "e.save", "y.save"])]
    clr = ev.log_cleared(tgt, at("2025-03-12 23:21:16"), "svc-mecm-push", lid)
    ev.finalize()
    sam = r["procs"][1]["ev"]
    alert = proc_alert(sid, sam, "Credential Acquisition via Registry Hive Dumping",
                       "reg.exe saving the SAM, SECURITY or SYSTEM hive to a file.", "high", ["T1003.002"],
                       "process event with process reg.exe, parent process cmd.exe, by svc-mecm-push on bos-app-01 created high alert Credential Acquisition via Registry Hive Dumping.",
                       'process where process.pe.original_file_name == "reg.exe" and process.args : "save" and process.args : ("*\\\\SAM", "*\\\\SECURITY", "*\\\\SYSTEM")')
    why = (f"reg save of SAM, SECURITY and SYSTEM into C:\\Windows\\Temp ({rec(sam)} ...) ran under a service 'ARMSVC' installed over ADMIN$ "
           f"({rec(r['install'])}) in logon {lid} of svc-mecm-push from {ip} (NTLM, WorkstationName {lap}, {rec(r['logon']['event'])}); the same session read the "
           f"three .save files back over ADMIN$ ({rec(reads[0])}) and cleared the Security log ({rec(clr)}). {ip} is {lap} (machine TGT {rec(mt)}), Karen Holm's "
           "finance laptop, not the MECM site server the push account is documented for, and client push never saves hives.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("svc-mecm-push"), hkey(tgt), hkey(lap)],
              "source": [hkey(lap), ukey("svc-mecm-push")], "attack_path": [hkey(lap), ukey("svc-mecm-push"), hkey(tgt)],
              "impacted_assets": [hkey(tgt), "PAYMENTS-GATEWAY"], "techniques": ["T1003.002", "T1021.002", "T1070.001"],
              "must_not_cite": [hkey("BOS-MECM-01"), ukey("svc-veeam"), hkey("BOS-APP-07")], "why": why}
    return sid, "SAM/SECURITY/SYSTEM saved through a PsExec-style service, log cleared", ev, alert, expect, "tsv"


@scenario
def hive_export_backup_account_outside_window():
    sid = "hive-export-backup-account-outside-window"
    ev = Events(sid, "2025-03-12 13:30:00", "2025-03-12 15:30:00")
    ev.background(["BOS-BKP-01", "BOS-APP-01"], density=0.7)
    bkp, tgt = "BOS-BKP-01", "BOS-APP-01"
    routine = veeam_prefreeze(ev, tgt, at("2025-03-12 01:22:10"))
    sched = ev.svchost(bkp)
    bl = ev.logon(bkp, at("2025-03-12 14:19:39"), "svc-veeam", 4)
    py = ev.proc(bkp, at("2025-03-12 14:19:40"), "C:\\Windows\\Temp\\vbr_cache\\vbrhelper.exe",
                 "C:\\Windows\\Temp\\vbr_cache\\vbrhelper.exe wmiexec lmi.intra/svc-veeam@10.40.16.51", sched, user="svc-veeam",
                 logon_id=bl["logon_id"], integrity="High")
    ev.netconn(bkp, at("2025-03-12 14:19:58"), py, C(tgt).ip, 135)
    r = wmiexec(ev, tgt, "svc-veeam", bkp, at("2025-03-12 14:20:03"),
                ["reg save HKLM\\SAM C:\\Windows\\Temp\\sam.tmp /y", "reg save HKLM\\SECURITY C:\\Windows\\Temp\\sec.tmp /y",
                 "reg save HKLM\\SYSTEM C:\\Windows\\Temp\\sys.tmp /y"], auth="NTLM", gap=12)
    lid = r["logon"]["logon_id"]
    rds = [ev.share_file(tgt, at("2025-03-12 14:21:00", seconds=k), "svc-veeam", lid, C(bkp).ip, "ADMIN$", "\\??\\C:\\Windows", f"Temp\\{f}", access="0x120089")
           for k, f in enumerate(["sam.tmp", "sec.tmp", "sys.tmp"])]
    ev.finalize()
    c = r["procs"][0]["ev"]
    alert = proc_alert(sid, c, "Credential Acquisition via Registry Hive Dumping",
                       "reg.exe saving the SAM, SECURITY or SYSTEM hive to a file.", "high", ["T1003.002"],
                       "process event with process cmd.exe, parent process WmiPrvSE.exe, by svc-veeam on bos-app-01 created high alert Credential Acquisition via Registry Hive Dumping.",
                       'process where process.command_line : "*reg*save*HKLM\\\\SAM*"', fps=["Backup software pre-freeze scripts (Veeam guest processing)"])
    why = (f"svc-veeam's documented hive export is the nightly Veeam pre-freeze 01:00-03:00 UTC: VeeamGuestHelper.exe writes to D:\\VeeamPreFreeze, as it did at "
           f"01:22 ({rec(routine[2][0])}). The alerted export at 14:20 on a Wednesday ({rec(c)}) instead came through WmiPrvSE -> cmd.exe /Q /c reg save ... "
           f"1> \\\\127.0.0.1\\ADMIN$ (wmiexec) into C:\\Windows\\Temp, in NTLM logon {rec(r['logon']['event'])} from BOS-BKP-01 where vbrhelper.exe in "
           f"C:\\Windows\\Temp launched 'wmiexec svc-veeam@10.40.16.51' ({rec(py)}), and the .tmp hives were pulled back over ADMIN$ ({rec(rds[0])}). Right "
           "account and host, wrong time and method: the backup credential is being abused.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-veeam"), hkey(tgt), hkey(bkp)], "source": [hkey(bkp), ukey("svc-veeam")],
              "attack_path": [hkey(bkp), ukey("svc-veeam"), hkey(tgt)], "impacted_assets": [hkey(tgt), hkey(bkp), "PAYMENTS-GATEWAY", "BACKUP-REPOSITORY"],
              "techniques": ["T1003.002", "T1047"], "must_not_cite": [ukey("svc-veeam-dr"), hkey("BOS-BKP-02")], "why": why}
    return sid, "Backup account exports hives at 14:20 through wmiexec", ev, alert, expect, "json"


@scenario
def hive_export_veeam_prefreeze_nightly():
    sid = "hive-export-veeam-prefreeze-nightly"
    ev = Events(sid, "2025-03-12 00:45:00", "2025-03-12 02:30:00")
    ev.background(["BOS-BKP-01", "BOS-APP-01"], density=0.4)
    tgt = "BOS-APP-01"
    prev = veeam_prefreeze(ev, tgt, at("2025-03-11 01:21:52"))
    li, gh, saves = veeam_prefreeze(ev, tgt, at("2025-03-12 01:22:10"))
    ev.finalize()
    s = saves[0]["ev"]
    alert = proc_alert(sid, s, "Credential Acquisition via Registry Hive Dumping",
                       "reg.exe saving the SAM, SECURITY or SYSTEM hive to a file.", "high", ["T1003.002"],
                       "process event with process reg.exe, parent process VeeamGuestHelper.exe, by svc-veeam on bos-app-01 created high alert Credential Acquisition via Registry Hive Dumping.",
                       'process where process.pe.original_file_name == "reg.exe" and process.args : "save" and process.args : ("*\\\\SAM", "*\\\\SECURITY", "*\\\\SYSTEM")')
    why = (f"The hive saves ({rec(s)} ...) were launched by VeeamGuestHelper.exe /PreFreeze in svc-veeam's logon {rec(li['event'])} from 10.40.8.60 = BOS-BKP-01 at "
           f"01:22 UTC and written to D:\\VeeamPreFreeze, followed by the backup stream to the proxy BOS-BKP-02; svc-veeam's description documents exactly this "
           f"(nightly 01:00-03:00 UTC, only from BOS-BKP-01/02, guest pre-freeze export of SAM/SECURITY/SYSTEM, CHG-2291), and the previous night ran identically "
           f"({rec(prev[2][0])}).")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("svc-veeam"), hkey(tgt), hkey("BOS-BKP-01")], "source": [hkey("BOS-BKP-01"), ukey("svc-veeam")],
              "impacted_assets": [], "techniques": ["T1003.002"], "must_not_cite": [ukey("svc-veeam-dr"), hkey("BOS-APP-07")], "why": why}
    return sid, "Veeam pre-freeze hive export during the nightly backup", ev, alert, expect, "tsv"


@scenario
def hive_misfire_compliance_reg_query():
    sid = "hive-misfire-compliance-reg-query"
    ev = Events(sid, "2025-03-13 09:30:00", "2025-03-13 10:30:00")
    ev.background(["BOS-APP-05"])
    tgt = "BOS-APP-05"
    ccm = ev.sysproc(tgt, "C:\\Windows\\CCM\\CcmExec.exe", 4400 + (sum(map(ord, tgt)) % 100) * 4)
    ps = ev.proc(tgt, at("2025-03-13 10:00:04"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                 "powershell.exe -NoLogo -NonInteractive -ExecutionPolicy Bypass -File C:\\Windows\\CCM\\SystemTemp\\4c1a7e0b-CIS-L1-LanMan.ps1",
                 ccm, user="SYSTEM", integrity="System")
    q = ev.proc(tgt, at("2025-03-13 10:00:05"), REG, "\"C:\\Windows\\system32\\reg.exe\" query HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v LmCompatibilityLevel",
                ps, user="SYSTEM", integrity="System")
    q2 = ev.proc(tgt, at("2025-03-13 10:00:05.600"), REG, "\"C:\\Windows\\system32\\reg.exe\" query HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v NoLMHash",
                 ps, user="SYSTEM", integrity="System")
    ev.finalize()
    alert = ocsf_finding("tz-hive-0313-1000", "2025-03-13 10:00:20", "Registry hive saved: HKLM\\SECURITY",
                         f"reg.exe saved HKLM\\SECURITY on {tgt} (possible LSA secrets dump).", "high", TENZIR,
                         ("sigma-lmi-0312", "Registry hive dump with reg.exe", "Credential Access"), ["T1003.004"],
                         evidences=[{"process": {"name": "reg.exe", "pid": q["pid"], "cmd_line": "reg.exe save HKLM\\SECURITY C:\\Windows\\Temp\\sec.hiv"},
                                     "device": {"hostname": f"{tgt}.lmi.intra", "ip": C(tgt).ip}}],
                         device=ocsf_device(f"{tgt}.lmi.intra", C(tgt).ip, os_name="Windows Server 2019"), related=[related_event(q["ev"])])
    why = (f"The reg.exe processes at 10:00 on {tgt} ({rec(q)}, {rec(q2)}) are 'reg query HKLM\\SYSTEM\\...\\Lsa /v LmCompatibilityLevel' and '/v NoLMHash', "
           f"run as SYSTEM by a MECM compliance-baseline script (CcmExec -> powershell ...CIS-L1-LanMan.ps1, {rec(ps)}); no 'reg save', no SECURITY hive and no "
           "hive file was written. The detection matched on 'reg.exe' and 'Lsa' and reported a save that never happened.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [hkey(tgt)], "impacted_assets": [], "techniques": [], "must_not_cite": [hkey("BOS-APP-06"), hkey("BOS-APP-01")], "why": why}
    return sid, "Compliance-baseline registry query reported as a hive dump", ev, alert, expect, "tsv"


@scenario
def ntds_ifm_from_admin_laptop_on_dc():
    sid = "ntds-ifm-from-admin-laptop-on-dc"
    ev = Events(sid, "2025-03-15 03:30:00", "2025-03-15 05:00:00")
    ev.background(["BOS-LT-1009"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"], density=0.5, skip_users=("aperez",))
    lap, dc = "BOS-LT-1009", "BOS-ADDS-02"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-15 03:52:00"))
    li, exd = rdp_session(ev, dc, "t0_aperez", lap, at("2025-03-15 04:05:31"), duration=2300)
    cmd = ev.proc(dc, at("2025-03-15 04:09:50"), CMD, "\"C:\\Windows\\system32\\cmd.exe\"", exd, user="t0_aperez", logon_id=li["logon_id"], session="2")
    nt = ev.proc(dc, at("2025-03-15 04:10:12"), "C:\\Windows\\System32\\ntdsutil.exe",
                 "ntdsutil.exe \"ac i ntds\" \"ifm\" \"create full C:\\ProgramData\\ifm\" q q", cmd, user="t0_aperez", logon_id=li["logon_id"], session="2")
    f1 = ev.file_create(dc, at("2025-03-15 04:10:49"), nt, "C:\\ProgramData\\ifm\\Active Directory\\ntds.dit")
    ev.file_create(dc, at("2025-03-15 04:10:52"), nt, "C:\\ProgramData\\ifm\\registry\\SYSTEM")
    z = ev.proc(dc, at("2025-03-15 04:12:30"), "C:\\Program Files\\7-Zip\\7z.exe", "\"C:\\Program Files\\7-Zip\\7z.exe\" a -mx9 C:\\ProgramData\\i.7z C:\\ProgramData\\ifm",
                cmd, user="t0_aperez", logon_id=li["logon_id"], session="2")
    smb = net_logon(ev, dc, "t0_aperez", lap, at("2025-03-15 04:16:02"), zeek_bytes=(38_200, 188_440_911))
    rd = ev.share_file(dc, at("2025-03-15 04:16:03"), "t0_aperez", smb["logon_id"], ip, "C$", "\\??\\C:\\", "ProgramData\\i.7z", access="0x120089")
    ev.finalize()
    alert = proc_alert(sid, nt["ev"], "NTDS or SAM Database File Copied / IFM created with ntdsutil",
                       "ntdsutil.exe used to create an Install From Media (IFM) copy of the Active Directory database.", "critical", ["T1003.003"],
                       "process event with process ntdsutil.exe, by t0_aperez on bos-adds-02 created critical alert NTDS or SAM Database File Copied / IFM created with ntdsutil.",
                       'process where process.pe.original_file_name : "ntdsutil.exe" and process.args : "ifm" and process.args : "create"', os_name=DC_OS)
    why = (f"ntdsutil 'ifm create full C:\\ProgramData\\ifm' ({rec(nt)}) wrote a copy of ntds.dit and the SYSTEM hive ({rec(f1)}) on {dc} at 04:10 UTC on a "
           f"Saturday, 7-Zip packed it ({rec(z)}) and the archive was read over C$ by {ip} ({rec(rd)}, ~188 MB in Zeek). The RDP session ({rec(li['event'])}) and "
           f"the SMB read came from {ip} = {lap} (machine TGT {rec(mt)}), Ana Perez's ordinary laptop, not her PAW BOS-PAW-03/04 as GG-T0-Admins requires: "
           "the domain's credential database was taken off a DC.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t0_aperez"), hkey(dc), hkey(lap), DOMAIN],
              "source": [hkey(lap), ukey("t0_aperez")], "attack_path": [hkey(lap), ukey("t0_aperez"), hkey(dc), DOMAIN],
              "impacted_assets": [hkey(dc), DOMAIN], "techniques": ["T1003.003", "T1021.001"],
              "must_not_cite": [hkey("BOS-PAW-04"), hkey("BOS-PAW-03"), hkey("BOS-ADDS-01")], "why": why}
    return sid, "IFM copy of NTDS.dit taken from a tier-0 admin's laptop", ev, alert, expect, "tsv"


def veeam_dc_backup(ev, dc, t):
    t = ev._t(t)
    ip = C("BOS-BKP-01").ip
    li = ev.logon(dc, t, "svc-veeam", 3, src_ip=ip)
    ev.conn(t, ip, C(dc).ip, 445, service="smb,gssapi", ob=2_900_000, rb=38_000, duration=35.0)
    inst = ev.sysproc(dc, "C:\\Program Files\\Veeam\\Installer Service\\VeeamDeploymentSvc.exe", 2900, user="SYSTEM")
    gh = ev.proc(dc, t + timedelta(seconds=5), "C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe",
                 "\"C:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe\" /SystemState /JobId:3e9b01a2-77c4-4d6e-b8f1-0a2c5d7e9f13", inst,
                 user="svc-veeam", logon_id=li["logon_id"])
    ag = ev.proc(dc, t + timedelta(seconds=40), "C:\\Program Files (x86)\\Veeam\\Backup Transport\\x64\\VeeamAgent.exe",
                 "\"C:\\Program Files (x86)\\Veeam\\Backup Transport\\x64\\VeeamAgent.exe\" -l \"C:\\ProgramData\\Veeam\\Backup\\SystemState.log\" -c pipe", inst,
                 user="svc-veeam", logon_id=li["logon_id"])
    pu = ev.priv_use(dc, t + timedelta(seconds=44), "svc-veeam", li["logon_id"], ag)
    fa = ev.file_access(dc, t + timedelta(seconds=45), "svc-veeam", li["logon_id"], "\\Device\\HarddiskVolumeShadowCopy12\\Windows\\NTDS\\ntds.dit", ag)
    ev.conn(t + timedelta(seconds=46), C(dc).ip, C("BOS-BKP-02").ip, 2500, service="-", ob=6_412_003_114, rb=288_000, duration=1480.0)
    ev.logoff(dc, t + timedelta(minutes=26), "svc-veeam", li["logon_id"])
    return li, ag, fa


@scenario
def ntds_shadow_copy_backup_account_from_workstation():
    sid = "ntds-shadow-copy-backup-account-from-workstation"
    ev = Events(sid, "2025-03-14 00:50:00", "2025-03-14 02:30:00")
    ev.background(["BOS-LT-1120", "BOS-BKP-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.5, skip_users=("kfischer",))
    lap, dc = "BOS-LT-1120", "BOS-ADDS-01"
    ip = C(lap).ip
    routine = veeam_dc_backup(ev, dc, at("2025-03-14 01:15:02"))
    mt = machine_online(ev, lap, at("2025-03-14 01:31:40"))
    sched = ev.svchost(lap)
    tool = ev.proc(lap, at("2025-03-14 01:39:50"), "C:\\ProgramData\\Microsoft\\Crypto\\cryptsvc.exe",
                   "C:\\ProgramData\\Microsoft\\Crypto\\cryptsvc.exe wmiexec lmi.intra/svc-veeam@BOS-ADDS-01 -hashes :<redacted>", sched, user="SYSTEM", integrity="System")
    ev.netconn(lap, at("2025-03-14 01:39:58"), tool, C(dc).ip, 135)
    r = wmiexec(ev, dc, "svc-veeam", lap, at("2025-03-14 01:40:02"),
                ["vssadmin create shadow /for=C:",
                 "copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy13\\Windows\\NTDS\\ntds.dit C:\\Windows\\Temp\\n.dit",
                 "reg save HKLM\\SYSTEM C:\\Windows\\Temp\\s.hiv /y"], auth="NTLM", gap=20)
    lid = r["logon"]["logon_id"]
    rd = ev.share_file(dc, at("2025-03-14 01:41:40"), "svc-veeam", lid, ip, "ADMIN$", "\\??\\C:\\Windows", "Temp\\n.dit", access="0x120089")
    ev.conn(at("2025-03-14 01:41:39"), ip, C(dc).ip, 445, service="smb,ntlmssp", ob=120_400, rb=92_331_208, duration=19.0)
    ev.finalize()
    c = r["procs"][1]["ev"]
    alert = proc_alert(sid, c, "NTDS.dit copied from a Volume Shadow Copy",
                       "A process copied ntds.dit out of a shadow copy on a domain controller.", "critical", ["T1003.003"],
                       "process event with process cmd.exe, parent process WmiPrvSE.exe, by svc-veeam on bos-adds-01 created critical alert NTDS.dit copied from a Volume Shadow Copy.",
                       'process where process.command_line : "*HarddiskVolumeShadowCopy*ntds.dit*"', os_name=DC_OS,
                       fps=["Backup software (Veeam system-state backup)"])
    why = (f"The DC's real backup ran at 01:15 as documented: svc-veeam from 10.40.8.60 = BOS-BKP-01 with VeeamAgent reading ntds.dit from the shadow copy under "
           f"SeBackupPrivilege ({rec(routine[2])}) and streaming to BOS-BKP-02. At 01:40, inside the same window, svc-veeam logged on again over NTLM from {ip} "
           f"({rec(r['logon']['event'])}) = {lap} (machine TGT {rec(mt)}), Klaus Fischer's laptop, where cryptsvc.exe in ProgramData ran wmiexec with the account's "
           f"hash ({rec(tool)}); WmiPrvSE then created a shadow copy, copied ntds.dit to C:\\Windows\\Temp ({rec(c)}), saved SYSTEM and the same session pulled "
           f"n.dit back over ADMIN$ ({rec(rd)}). Right account and window, wrong host and method.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("svc-veeam"), hkey(dc), hkey(lap), DOMAIN], "source": [hkey(lap), ukey("svc-veeam")],
              "attack_path": [hkey(lap), ukey("svc-veeam"), hkey(dc), DOMAIN], "impacted_assets": [hkey(dc), DOMAIN],
              "techniques": ["T1003.003", "T1047"], "must_not_cite": [hkey("BOS-BKP-01"), ukey("svc-veeam-dr"), hkey("BOS-LT-1119")], "why": why}
    return sid, "Backup account copies NTDS.dit from a shadow copy, driven from a laptop", ev, alert, expect, "tsv"


@scenario
def ntds_veeam_system_state_backup():
    sid = "ntds-veeam-system-state-backup"
    ev = Events(sid, "2025-03-14 00:50:00", "2025-03-14 02:00:00")
    ev.background(["BOS-BKP-01", "BOS-BKP-02"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.4)
    dc = "BOS-ADDS-01"
    prev = veeam_dc_backup(ev, dc, at("2025-03-13 01:14:48"))
    li, ag, fa = veeam_dc_backup(ev, dc, at("2025-03-14 01:15:02"))
    ev.finalize()
    src = ecs_from_security(fa, os_name=DC_OS, action="object-access", category=("file",))
    src["process"] = {"name": "VeeamAgent.exe", "executable": ag["image"], "pid": ag["pid"]}
    alert = elastic_alert(sid, fmt(fa["_t"]), "Active Directory database (ntds.dit) read from a shadow copy",
                          "A process read ntds.dit through a Volume Shadow Copy device path on a domain controller.", "high", ["T1003.003"],
                          "ntds.dit read by VeeamAgent.exe (svc-veeam) on bos-adds-01 via HarddiskVolumeShadowCopy12.", src, rule_type="query",
                          query='event.code:"4663" and winlog.event_data.ObjectName:*HarddiskVolumeShadowCopy*NTDS*ntds.dit',
                          ancestors=ancestors_for([fa], SECURITY_INDEX), original_event={"code": "4663", "kind": "event", "module": "system"},
                          false_positives=["System-state backups"])
    why = (f"ntds.dit was read from the shadow copy by VeeamAgent.exe ({rec(fa)}) using SeBackupPrivilege in svc-veeam's logon {rec(li['event'])} from 10.40.8.60 = "
           f"BOS-BKP-01 at 01:15 UTC, after VeeamGuestHelper /SystemState, and streamed to the proxy BOS-BKP-02. svc-veeam is in Backup Operators and documented for "
           f"nightly 01:00-03:00 UTC DC system-state backups from BOS-BKP-01/02 (CHG-2291); the previous night at 01:14 is identical ({rec(prev[2])}).")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("svc-veeam"), hkey(dc), hkey("BOS-BKP-01")], "source": [hkey("BOS-BKP-01"), ukey("svc-veeam")],
              "impacted_assets": [], "techniques": ["T1003.003"], "must_not_cite": [ukey("svc-veeam-dr"), hkey("BOS-ADDS-02")], "why": why}
    return sid, "Nightly Veeam system-state backup reads NTDS.dit", ev, alert, expect, "json"


@scenario
def ntds_misfire_ntdsutil_files_info():
    sid = "ntds-misfire-ntdsutil-files-info"
    ev = Events(sid, "2025-03-11 14:30:00", "2025-03-11 16:00:00")
    ev.background(["BOS-PAW-01"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"], density=0.6, skip_users=("rnakamura",))
    paw, dc = "BOS-PAW-01", "BOS-ADDS-02"
    mt = machine_online(ev, paw, at("2025-03-11 14:40:00"))
    li, exd = rdp_session(ev, dc, "t0_rnakamura", paw, at("2025-03-11 15:05:12"), duration=1300)
    cmd = ev.proc(dc, at("2025-03-11 15:09:30"), CMD, "\"C:\\Windows\\system32\\cmd.exe\"", exd, user="t0_rnakamura", logon_id=li["logon_id"], session="2")
    nt = ev.proc(dc, at("2025-03-11 15:10:02"), "C:\\Windows\\System32\\ntdsutil.exe", "ntdsutil \"activate instance ntds\" files info quit quit",
                 cmd, user="t0_rnakamura", logon_id=li["logon_id"], session="2")
    ev.finalize()
    alert = ocsf_finding("tz-ntds-0311-1510", "2025-03-11 15:10:20", "NTDS.dit extraction via ntdsutil IFM",
                         f"ntdsutil.exe created an IFM copy of the AD database ('ifm create full') on {dc}.", "critical", TENZIR,
                         ("sigma-lmi-0330", "ntdsutil IFM creation", "Credential Access"), ["T1003.003"],
                         evidences=[{"actor": {"user": ocsf_user("t0_rnakamura")}, "process": {"name": "ntdsutil.exe", "pid": nt["pid"],
                                                                                                "cmd_line": "ntdsutil.exe \"ac i ntds\" \"ifm\" \"create full C:\\Temp\\ifm\" q q"},
                                     "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip, os_name=DC_OS), related=[related_event(nt["ev"])])
    why = (f"The ntdsutil process ({rec(nt)}) ran 'activate instance ntds' 'files' 'info' - it only prints the database and log paths; there is no 'ifm create', "
           f"no file was written and nothing was copied off the DC. It ran in t0_rnakamura's RDP session {rec(li['event'])} from 10.40.9.11 = BOS-PAW-01, her PAW "
           "(machine TGT " + rec(mt) + "), on a Tuesday afternoon. The extraction the alert describes did not happen.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t0_rnakamura"), hkey(dc), hkey(paw)], "source": [hkey(paw), ukey("t0_rnakamura")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [hkey("BOS-PAW-02"), hkey("BOS-ADDS-01")], "why": why}
    return sid, "ntdsutil 'files info' reported as an IFM extraction", ev, alert, expect, "tsv"
