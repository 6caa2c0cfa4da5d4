module nexus-socket/nexus

go 1.24
