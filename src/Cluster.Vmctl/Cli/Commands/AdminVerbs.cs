using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>The administrator's commands: token, network, audit.</summary>
public static class AdminVerbs
{
    public static IEnumerable<VerbCommand> All()
    {
        yield return new VerbCommand("token", "bearer tokens: create, list, revoke")
            .With(
                new VerbCommand("create", "a new token (printed once, alone on stdout)")
                    .With(
                        Opt.Value("--role", "ROLE", "viewer, operator or admin", "viewer", "operator", "admin"),
                        Opt.Value("--name", "NAME", "a name to recognise it by (default ROLE-token)"),
                        Opt.Value("--expires", "DURATION", "90m, 12h, 30d (default 30d)"))
                    .Example("vmctl token create --role operator --name ci --expires 12h"),
                new VerbCommand("list", "every token: id, name, role, expiry, state (never the secret)").Example("vmctl token list"),
                new VerbCommand("revoke", "no node accepts the token any more").With(Opt.Positional("ID", "the token's id"))
                    .Example("vmctl token revoke 0123456789ab"))
            .Example("vmctl token create --role viewer", "vmctl token list -o yaml");
        yield return new VerbCommand("network", "cluster networks: create, list, show, delete")
            .With(
                new VerbCommand("create", "a cluster network (admin)")
                    .With(Opt.Positional("NAME", "the network's name"))
                    .With(
                        Opt.Value("--mode", "MODE", "nat, bridge or overlay", "nat", "bridge", "overlay"),
                        Opt.Value("--subnet", "CIDR", "its subnet (nat and overlay)"),
                        Opt.Value("--bridge", "BR", "the host bridge (bridge)"),
                        Opt.Value("--mtu", "N", "default 1450 on an overlay, else 1500"))
                    .Example("vmctl network create lan --mode nat --subnet 10.88.0.0/24", "vmctl network create phys --mode bridge --bridge br0")
                    .Note("Subnets may not overlap; overlays get a VNI."),
                new VerbCommand("list", "every network").Example("vmctl network list"),
                new VerbCommand("show", "one network with the MAC and address of each VM's NIC").With(Opt.Positional("NAME", "the network's name"))
                    .Example("vmctl network show lan"),
                new VerbCommand("delete", "delete a network (refused while a VM has a NIC on it)").With(Opt.Positional("NAME", "the network's name"))
                    .Example("vmctl network delete lan"))
            .Example("vmctl network list -o wide");
        yield return new VerbCommand("audit", "the last accepted commands: who (token, role), what, where")
            .With(Opt.Value("--limit", "N", "how many records (default 50)"))
            .Example("vmctl audit --limit 10");
    }
}
