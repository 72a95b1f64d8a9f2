//! Topology: Get-CsService and the Publish-CsTopology extension.

use crate::catalog::*;

pub const GET_CS_SERVICE: Cmdlet = Cmdlet {
    name: "Get-CsService",
    noun: Noun::Topology,
    synopsis: "List topology services/server roles (used to find Persistent Chat pool identities).",
    sets: &[
        "Identity",
        "Filter",
        "ApplicationDatabase",
        "ApplicationServer",
        "ArchivingDatabase",
        "ArchivingServer",
        "BackupServer",
        "CentralManagement",
        "CentralManagementDatabase",
        "ConferenceServer",
        "Director",
        "EdgeServer",
        "FileStore",
        "LegalInterceptServer",
        "ManagementServer",
        "MediationServer",
        "MonitoringDatabase",
        "MonitoringServer",
        "PersistentChatComplianceDatabase",
        "PersistentChatDatabase",
        "PersistentChatServer",
        "ProvisionDatabase",
        "ProvisionServer",
        "PstnGateway",
        "Registrar",
        "TrustedApplicationPool",
        "UserDatabase",
        "UserServer",
        "VideoGateway",
        "VideoInteropServer",
        "WacServer",
        "WebServer",
    ],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The service to return, as `<Role>:<PoolFqdn>` (e.g. `PersistentChatServer:pc01.contoso.com`); no wildcards. Omitted: every service.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern (`*`, `?`, `[abc]`) matched case-insensitively against the whole service Identity.",
        )
        .sets(&["Filter"]),
        param("PoolFqdn", Ty::String, "Return only services hosted on this pool (FQDN); combines with every other parameter."),
        param("ApplicationDatabase", Ty::Switch, "Return only application databases (used by the Application service).")
            .sets(&["ApplicationDatabase"]),
        param("ApplicationServer", Ty::Switch, "Return only Application services (UCMA applications).")
            .sets(&["ApplicationServer"]),
        param("ArchivingDatabase", Ty::Switch, "Return only archiving databases.").sets(&["ArchivingDatabase"]),
        param("ArchivingServer", Ty::Switch, "Return only Archiving servers.").sets(&["ArchivingServer"]),
        param("BackupServer", Ty::Switch, "Return only backup servers.").sets(&["BackupServer"]),
        param("CentralManagement", Ty::Switch, "Return only the Central Management service.")
            .sets(&["CentralManagement"]),
        param("CentralManagementDatabase", Ty::Switch, "Return only the Central Management store.")
            .sets(&["CentralManagementDatabase"]),
        param("ConferencingServer", Ty::Switch, "Return only A/V Conferencing services.")
            .sets(&["ConferenceServer"])
            .aliases(&["ConferenceServer"]),
        param("Director", Ty::Switch, "Return only Director services.").sets(&["Director"]),
        param("EdgeServer", Ty::Switch, "Return only Edge servers.").sets(&["EdgeServer"]),
        param("FileStore", Ty::Switch, "Return only file stores.").sets(&["FileStore"]),
        param("LegalInterceptServer", Ty::Switch, "Return only legal intercept servers (Lync 2013 only).")
            .sets(&["LegalInterceptServer"]),
        param("ManagementServer", Ty::Switch, "Return only Central Management Servers.").sets(&["ManagementServer"]),
        param("MediationServer", Ty::Switch, "Return only Mediation servers.").sets(&["MediationServer"]),
        param("MonitoringDatabase", Ty::Switch, "Return only monitoring databases.").sets(&["MonitoringDatabase"]),
        param("MonitoringServer", Ty::Switch, "Return only Monitoring servers.").sets(&["MonitoringServer"]),
        param("PersistentChatComplianceDatabase", Ty::Switch, "Return only Persistent Chat compliance databases.")
            .sets(&["PersistentChatComplianceDatabase"]),
        param("PersistentChatDatabase", Ty::Switch, "Return only Persistent Chat databases.")
            .sets(&["PersistentChatDatabase"]),
        param(
            "PersistentChatServer",
            Ty::Switch,
            "Return only Persistent Chat services; their Identity (`PersistentChatServer:<pool>`) addresses pool state and active servers.",
        )
        .sets(&["PersistentChatServer"]),
        param("ProvisionDatabase", Ty::Switch, "Return only provisioning databases (Lync 2010 only).")
            .sets(&["ProvisionDatabase"]),
        param("ProvisionServer", Ty::Switch, "Return only provisioning servers (Lync 2010 only).")
            .sets(&["ProvisionServer"]),
        param("PstnGateway", Ty::Switch, "Return only PSTN gateways.").sets(&["PstnGateway"]),
        param("Registrar", Ty::Switch, "Return only Registrar services.").sets(&["Registrar"]),
        param("TrustedApplicationPool", Ty::Switch, "Return only trusted application pools.")
            .sets(&["TrustedApplicationPool"])
            .aliases(&["ExternalServer"]),
        param("UserDatabase", Ty::Switch, "Return only user databases.").sets(&["UserDatabase"]),
        param("UserServer", Ty::Switch, "Return only User Services.").sets(&["UserServer"]),
        param("VideoGateway", Ty::Switch, "Return only video gateways (Skype for Business Server 2015 and later).")
            .sets(&["VideoGateway"]),
        param(
            "VideoInteropServer",
            Ty::Switch,
            "Return only Video Interop servers (Skype for Business Server 2015 and later).",
        )
        .sets(&["VideoInteropServer"]),
        param("WacServer", Ty::Switch, "Return only Office Web Apps servers.").sets(&["WacServer"]),
        param("WebServer", Ty::Switch, "Return only Web Services.").sets(&["WebServer"]),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Service),
    examples: &[
        example(r#"get_cs_service()"#, "Every service in the topology."),
        example(
            r#"get_cs_service(#{PersistentChatServer: true})"#,
            "The Persistent Chat services, e.g. Identity PersistentChatServer:pc01.contoso.com.",
        ),
        example(
            r#"get_cs_service(#{FileStore: true, PoolFqdn: "fe01.contoso.com"})"#,
            "The file store services of fe01.contoso.com only.",
        ),
        example(r#"get_cs_service().filter(|s| s.SiteId == "Site:Dublin")"#, "Services whose SiteId is Site:Dublin."),
        example(
            r#"get_cs_service(#{PersistentChatServer: true}).map(|s| s.PoolFqdn + " " + s.Version)"#,
            "Each Persistent Chat pool with the Version its topology entry gives (demo: pc01 7, pc02 6); a service whose entry gives no Version has `()` ($Null), never a guessed one.",
        ),
        example(
            r#"get_cs_service().filter(|s| s.Role == "Registrar" || s.Role == "UserServer")"#,
            "Two roles in one listing.",
        ),
        failing(
            r#"get_cs_service(#{Registrar: true, EdgeServer: true})"#,
            "Fails: only one role switch is allowed per call.",
            "AmbiguousParameterSet",
        ),
    ],
    extension: false,
};

pub const PUBLISH_CS_TOPOLOGY: Cmdlet = Cmdlet {
    name: "Publish-CsTopology",
    noun: Noun::Topology,
    synopsis: "Load or replace the topology (SIP domains, sites, SQL instances, pools, services, servers) from a JSON document.",
    sets: &[],
    params: &[
        param(
            "FileName",
            Ty::Path,
            "Path of the topology JSON document. Publishing is idempotent; a topology that would orphan existing categories or rooms is refused (InvalidOperation), and so is one that drops or moves a copy of a pool holding changes no other copy holds (the backup serving a failed-over pool, or a copy ahead of the other). Giving an SQL instance that holds a copy of a pool another File or Connection does not move the copy (the old file or database is left as it is): the publish warns, naming the pool, both places and the Repair-CsPersistentChatDatabase call that rebuilds the copy from the other one, and is refused when the old copy is the pool's only complete one (no backup, or the other copy behind). On a PostgreSQL store each SQL instance names its pool database with Connection (postgres://…) instead of File: a database not used before must exist and be empty (pchat makes the pool schema there and stamps it as this store's; it creates no database), and one that is missing, holds anything else or is another store's is refused, changing nothing. Two SQL instances whose Connections reach one database (spelt differently: localhost and 127.0.0.1, a password added) are refused, naming both: each needs a database of its own.",
        )
        .mandatory()
        .pos(0),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"publish_cs_topology("scripts/demo/topology.json")"#,
            "Loads the demo topology: sites Dublin and Oslo, pools fe01, fe02, pc01 and pc02 with their services.",
        ),
        example(
            r#"publish_cs_topology("scripts/demo/topology.json", #{WhatIf: true})"#,
            "Validates the document and shows what would change, without changing anything.",
        ),
    ],
    extension: true,
};

pub const GET_CS_POOL: Cmdlet = Cmdlet {
    name: "Get-CsPool",
    noun: Noun::Topology,
    synopsis: "List the pools of the published topology with their site, services and computers.",
    sets: &["Identity", "Filter"],
    params: &[
        param("Identity", Ty::String, "The pool's FQDN (no wildcards). Omitted: every pool.")
            .sets(&["Identity"])
            .pos(0),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern (`*`, `?`, `[abc]`) matched case-insensitively against the pool's FQDN.",
        )
        .sets(&["Filter"]),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Pool),
    examples: &[
        example(r#"get_cs_pool()"#, "Every pool: fe01, fe02, edge01, sql01, pc01 and pc02 in the demo."),
        example(r#"get_cs_pool("pc01.contoso.com")[0].Computers"#, "The servers of pc01: pcsrv01 to pcsrv04."),
        example(r#"get_cs_pool(#{Filter: "pc*"}).map(|p| p.Site)"#, "The site of each Persistent Chat pool."),
        failing(r#"get_cs_pool("pc09.contoso.com")"#, "Fails: no such pool in the topology.", "NotFound"),
    ],
    extension: true,
};

pub const GET_CS_COMPUTER: Cmdlet = Cmdlet {
    name: "Get-CsComputer",
    noun: Noun::Topology,
    synopsis: "List the computers (servers) of the published topology with their pool.",
    sets: &["Identity", "Filter", "Pool", "Service"],
    params: &[
        param("Identity", Ty::String, "The computer's FQDN (no wildcards). Omitted: every computer.")
            .sets(&["Identity"])
            .pos(0),
        param("Filter", Ty::String, "Wildcard pattern (`*`, `?`, `[abc]`) matched case-insensitively against the computer's FQDN.")
            .sets(&["Filter"]),
        param("Pool", Ty::String, "Only the computers of this pool (FQDN).").sets(&["Pool"]),
        param(
            "Service",
            Ty::String,
            "Only the computers that run this service, as `<Role>:<PoolFqdn>` (e.g. `PersistentChatServer:pc01.contoso.com`).",
        )
        .sets(&["Service"]),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Computer),
    examples: &[
        example(r#"get_cs_computer()"#, "Every computer of the topology with its pool."),
        example(r#"get_cs_computer(#{Pool: "pc01.contoso.com"})"#, "The four servers of pc01."),
        example(
            r#"get_cs_computer(#{Service: "PersistentChatServer:pc02.contoso.com"})"#,
            "The servers that run pc02's Persistent Chat service.",
        ),
        failing(r#"get_cs_computer(#{Pool: "pc09.contoso.com"})"#, "Fails: no such pool in the topology.", "NotFound"),
    ],
    extension: true,
};
