"""The live layer: host events (Windows, Sysmon), Zeek observations, alerts."""

from __future__ import annotations

from graph.catalog.common import COUNT, DESCRIPTION, HASHES, IP, TIME, TIMESTAMP, TITLE
from graph.catalog.core import Index, NodeKind, Prop, RelKind

GROUP = "Events and alerts"

_T = Prop("timestamp", "int", TIMESTAMP.description, Index("event_timestamp", "Event"))
_WINDOWS = tuple(Prop(name, "str", f"the record's {field}") for name, field in (
    ("command_line", "CommandLine"), ("parent_command_line", "ParentCommandLine"),
    ("service_name", "ServiceName"), ("service_file", "ServiceFileName / ImagePath"),
    ("service_account", "ServiceAccount"), ("service_start_type", "ServiceStartType / StartType"),
    ("access_mask", "AccessMask"), ("object_type", "ObjectType"), ("object_name", "ObjectName (Zeek: the file, `endpoint::operation`)"),
    ("object_server", "ObjectServer"), ("operation_type", "OperationType"), ("ticket_options", "TicketOptions"),
    ("status", "Status"), ("sub_status", "SubStatus"), ("failure_reason", "FailureReason"),
    ("logon_process", "LogonProcessName"), ("auth_package", "AuthenticationPackageName"),
    ("workstation", "WorkstationName / Workstation"), ("ip_port", "IpPort"), ("share_name", "ShareName"),
    ("target_image", "TargetImage"), ("granted_access", "GrantedAccess"), ("target_filename", "TargetFilename"),
    ("target_object", "TargetObject"), ("query_name", "QueryName"), ("privileges", "PrivilegeList"),
    ("user", "User"), ("properties", "Properties (4662)"), ("initiated", "Initiated (Sysmon 3)"),
    ("dst_hostname", "DestinationHostname (Sysmon 3)"),
))

NODES = (
    NodeKind("Event", GROUP, "something a host or the network logged, with one subtype label: a row of the event store (graph/events); a graph node only when an alert involves it",
             "`EVT:HOST:Channel:RecordNumber` (Windows), `ZEEK:log:uid:digest` (Zeek)", (
                 _T, TIME, IP, HASHES, COUNT, TITLE, *_WINDOWS,
                 Prop("event_id", "int", "Windows EventID", Index("event_id", "Event")),
                 Prop("channel", "str", "canonical channel (`Security`, `Microsoft-Windows-Sysmon/Operational`)"),
                 Prop("provider", "str", "the provider that wrote it"),
                 Prop("fields", "str", "every raw field, as JSON text"),
                 Prop("record_number", "int", "RecordNumber / EventRecordID"),
                 Prop("content_hash", "str", "the key's hash when the record has no number"),
                 Prop("time_field", "str", "the field `timestamp` came from"),
                 Prop("host", "str", "the host as the twin keys it (as written while `HostUnresolved`)"),
                 Prop("host_domains", "list[str]", "domains the host's machine account named (unresolved host)"),
                 Prop("subject_user", "str", "who acted (`DOMAIN\\name`)"),
                 Prop("subject_sid", "str", "their SID"),
                 Prop("target_user", "str", "whom it was done to"),
                 Prop("target_sid", "str", "their SID"),
                 Prop("subject_logon_id", "str", "SubjectLogonId"),
                 Prop("target_logon_id", "str", "TargetLogonId"),
                 Prop("logon_id", "str", "the logon session the event belongs to"),
                 Prop("logon_type", "int", "LogonType"),
                 Prop("process_id", "int", "the process"),
                 Prop("parent_process_id", "int", "its parent"),
                 Prop("image", "str", "the process's executable"),
                 Prop("parent_image", "str", "the parent's executable"),
                 Prop("process_guid", "str", "Sysmon ProcessGuid"),
                 Prop("parent_process_guid", "str", "Sysmon ParentProcessGuid"),
                 Prop("ticket_encryption_type", "str", "TicketEncryptionType (hex)"),
                 Prop("ticket_encryption", "str", "its cipher name (`RC4-HMAC`, Zeek's cipher)"),
                 Prop("pre_auth_type", "int", "PreAuthType"),
                 Prop("src_ip", "str", "connection source address"),
                 Prop("dst_ip", "str", "connection destination address"),
                 Prop("src_port", "int", "source port"),
                 Prop("dst_port", "int", "destination port"),
                 Prop("protocol", "str", "connection protocol"),
                 Prop("local_ip", "str", "the host's own address in the connection (a lease's evidence)"),
                 Prop("uid", "str", "Zeek connection (or file) uid"),
                 Prop("zeek_log", "str", "the Zeek log it came from"),
                 Prop("last_timestamp", "int", "the last repeat of the observation (epoch seconds)"),
             )),
    NodeKind("LogonEvent", GROUP, "4624", subkind_of="Event"),
    NodeKind("LogonFailureEvent", GROUP, "4625", subkind_of="Event"),
    NodeKind("ReplicationEvent", GROUP, "4662 with a replication right (DCSync)", subkind_of="Event"),
    NodeKind("DirectoryAccessEvent", GROUP, "another 4662", subkind_of="Event"),
    NodeKind("ProcessEvent", GROUP, "4688 / Sysmon 1", subkind_of="Event"),
    NodeKind("TicketEvent", GROUP, "4768 / 4769", subkind_of="Event"),
    NodeKind("NetworkEvent", GROUP, "Sysmon 3", subkind_of="Event"),
    NodeKind("KerberosEvent", GROUP, "Zeek kerberos.log", props=(
        Prop("request_type", "str", "AS or TGS"),
        Prop("client", "str", "the client principal (= subject_user)"),
        Prop("success", "bool", "the request succeeded"),
        Prop("error_msg", "str", "the KDC's error"),
        Prop("forwardable", "bool", "the ticket is forwardable"),
    ), subkind_of="Event"),
    NodeKind("SmbEvent", GROUP, "Zeek smb_mapping.log / smb_files.log", props=(
        Prop("share_type", "str", "DISK, PIPE, ..."),
        Prop("service", "str", "the tree service"),
        Prop("native_file_system", "str", "the share's file system"),
        Prop("action", "str", "SMB::FILE_OPEN, ..."),
        Prop("prev_name", "str", "the name before a rename"),
        Prop("size", "int", "file size"),
        Prop("fuid", "str", "Zeek file id"),
    ), subkind_of="Event"),
    NodeKind("RpcEvent", GROUP, "Zeek dce_rpc.log", props=(
        Prop("endpoint", "str", "the RPC endpoint (drsuapi, svcctl, ...)"),
        Prop("operation", "str", "the operation (DRSGetNCChanges, ...)"),
        Prop("named_pipe", "str", "the pipe"),
    ), subkind_of="Event"),
    NodeKind("FileEvent", GROUP, "Zeek files.log (TLS certificates left out)", props=(
        Prop("fuid", "str", "Zeek file id"),
        Prop("filename", "str", "the file's name (= object_name)"),
        Prop("mime_type", "str", "its MIME type"),
        Prop("file_source", "str", "the protocol that carried it (SMB, HTTP, ...)"),
        Prop("size", "int", "file size"),
        Prop("conn_uids", "list[str]", "connections that carried it"),
    ), subkind_of="Event"),
    NodeKind("NoticeEvent", GROUP, "Zeek notice.log", props=(
        Prop("note", "str", "the notice type (= title)"),
        Prop("msg", "str", "its message"),
        Prop("sub", "str", "its sub-message"),
        Prop("actions", "list[str]", "notice actions"),
    ), subkind_of="Event"),
    NodeKind("HostUnresolved", GROUP, "marker: the event's host is not known yet (no OnHost)", subkind_of="Event"),
    NodeKind("AccountUnresolved", GROUP, "marker: an account of a domain the twin does not know yet",
             subkind_of="Event"),
    NodeKind("IpUnresolved", GROUP, "marker: an internal source address no host held (no FromHost)",
             subkind_of="Event"),
    NodeKind("Alert", GROUP, "a detection (OCSF 2004 or Elastic)",
             "OCSF finding_info.uid / metadata.uid; ECS kibana.alert.uuid", (
                 TITLE, DESCRIPTION, TIME,
                 Prop("timestamp", "int", "the alert's time (epoch seconds)", Index("alert_time", "Alert")),
                 Prop("event_timestamp", "int", "the time of the activity it reports"),
                 Prop("rule", "str", "the detection rule"),
                 Prop("severity", "str", "contract severity"),
                 Prop("severity_raw", "str", "severity as the alert wrote it"),
                 Prop("risk_score", "float", "the product's risk score"),
                 Prop("format", "str", "`ocsf` or `ecs`"),
                 Prop("techniques", "list[str]", "MITRE ATT&CK technique ids"),
                 Prop("product", "str", "the product that raised it"),
                 Prop("raw", "str", "the alert document, as JSON text"),
                 *(Prop(f"named_{n}", "list[str]", f"the {n} the alert named, as written")
                   for n in ("hosts", "users", "ips", "processes", "hashes")),
             )),
)

_EV = ("Event",)
_TIMESPAN = "firstseen / lastseen span the events"

RELS = (
    RelKind("OnHost", GROUP, _EV, ("Computer",), "where the event happened", "winevents, zeek"),
    RelKind("ByUser", GROUP, _EV, ("User", "Computer", "Group"), "the acting account", "winevents, zeek"),
    RelKind("TargetsUser", GROUP, _EV, ("User", "Computer", "Group"), "the account acted on", "winevents"),
    RelKind("FromHost", GROUP, _EV, ("Computer",), "the source host (its address resolved at the time)",
            "winevents, zeek"),
    RelKind("FromIP", GROUP, _EV, ("IP",), "the source address", "winevents"),
    RelKind("InLogonSession", GROUP, _EV, ("LogonEvent",), "the 4624 of the event's logon session", "winevents"),
    RelKind("SpawnedBy", GROUP, ("ProcessEvent",), ("ProcessEvent",), "process -> its parent process", "winevents"),
    RelKind("LoggedOn", GROUP, ("User",), ("Computer",), f"the user logged on to the host; {_TIMESPAN}",
            "winevents", (
                Prop("logon_types", "list[int]", "logon types seen"),
                Prop("count", "int", "distinct 4624 events of that user on that host"),
            )),
    RelKind("Involves", GROUP, ("Alert",), ("Computer", "User", "Group", "IP", "Internet", "Event"),
            "what an alert names, resolved in the twin", "alerts", (
                Prop("role", "str", "its first role (`host`, `src_ip`, `user`, ...)"),
                Prop("roles", "list[str]", "every role it plays in the alert"),
            )),
)
