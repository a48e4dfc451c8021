using Cluster.Vmm.Networking;

namespace Cluster.Actors.Networks;

/// <summary>
/// Anti-spoofing for the guests' taps, as libvirt's clean-traffic filter and OpenStack's port security do: one nftables
/// table of the bridge family (<see cref="Table"/>) drops, before the bridge forwards or delivers it, every frame a tap
/// sends with another source MAC than its NIC's, every ARP whose sender MAC or (where the NIC has an address) sender IPv4
/// address is not the NIC's, and every IPv4 packet from another source address than the NIC's (0.0.0.0 stays allowed: a
/// DHCP client has no address yet). Taps are elements of its sets (name, name . MAC, name . address), so adding and
/// removing a tap never rewrites the rules; each drop is counted. The table is made once and kept across node restarts
/// (the taps of guests that outlive their node stay guarded). A guest may not act as a DHCP (v4 or v6) server or send
/// IPv6 router advertisements or redirects; from a tap with an assigned IPv4 address, IPv6 may only come from link-local
/// or unspecified sources (the cluster's networks assign no IPv6 addresses).
/// </summary>
public sealed class TapGuard(HostCommands commands)
{
    /// <summary>The table's name (family bridge).</summary>
    public const string Table = "cht_guard";

    private readonly Dictionary<string, (string? Mac, string? Ip)> _guarded = new(StringComparer.Ordinal);
    private bool _ready;

    /// <summary>Guards <paramref name="tap"/>: only <paramref name="mac"/> (and <paramref name="ip"/> when given) may leave it.
    /// A tap without a MAC is not guarded (nothing to check it against).</summary>
    /// <exception cref="NetworkSetupException">nft failed.</exception>
    public void Add(string tap, string? mac, string? ip)
    {
        Remove(tap);
        if (mac is null)
            return;
        Ensure();
        var t = $"bridge {Table}";
        var lines = $"add element {t} macs {{ \"{tap}\" . {mac} }}\nadd element {t} guarded {{ \"{tap}\" }}\n";
        if (ip is not null)
            lines += $"add element {t} ipv4 {{ \"{tap}\" . {ip} }}\nadd element {t} ipv4_guarded {{ \"{tap}\" }}\n";
        commands.Run("nft", ["-f", "-"], lines);
        _guarded[tap] = (mac, ip);
    }

    /// <summary>
    /// Forgets <paramref name="tap"/> (its link is gone or it is guarded anew). A tap this instance did not guard (the
    /// node restarted since) is looked up in the table's sets, so that its old entries go too.
    /// </summary>
    public void Remove(string tap)
    {
        var entries = _guarded.Remove(tap, out var was) ? [was] : Recorded(tap);
        foreach (var (mac, ip) in entries)
        {
            commands.TryRun("nft", ["delete", "element", "bridge", Table, "guarded", $"{{ \"{tap}\" }}"]);
            if (mac is not null)
                commands.TryRun("nft", ["delete", "element", "bridge", Table, "macs", $"{{ \"{tap}\" . {mac} }}"]);
            if (ip is not null)
            {
                commands.TryRun("nft", ["delete", "element", "bridge", Table, "ipv4_guarded", $"{{ \"{tap}\" }}"]);
                commands.TryRun("nft", ["delete", "element", "bridge", Table, "ipv4", $"{{ \"{tap}\" . {ip} }}"]);
            }
        }
    }

    /// <summary>The MACs and addresses the table holds for <paramref name="tap"/> (none when the table is absent).</summary>
    private List<(string? Mac, string? Ip)> Recorded(string tap)
    {
        var found = new List<(string?, string?)>();
        foreach (var (set, isMac) in new[] { ("macs", true), ("ipv4", false) })
        {
            var (exit, output, _) = commands.TryRun("nft", ["-j", "list", "set", "bridge", Table, set]);
            if (exit != 0)
                continue;
            foreach (var value in Elements(output, tap))
                found.Add(isMac ? (value, null) : (null, value));
        }
        return found;
    }

    /// <summary>The second parts of the "name . value" elements of an <c>nft -j list set</c> output whose name is <paramref name="tap"/>.</summary>
    internal static IEnumerable<string> Elements(string json, string tap)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("set", out var set) || !set.TryGetProperty("elem", out var elements))
                continue;
            foreach (var element in elements.EnumerateArray())
            {
                var concat = element.TryGetProperty("concat", out var c) ? c
                    : element.TryGetProperty("elem", out var wrapped) && wrapped.TryGetProperty("val", out var v) && v.TryGetProperty("concat", out var c2) ? c2
                    : default;
                if (concat.ValueKind == System.Text.Json.JsonValueKind.Array && concat.GetArrayLength() == 2 && concat[0].GetString() == tap)
                    yield return concat[1].GetString()!;
            }
        }
    }

    /// <summary>The chain's rules in order, each named by its comment (which the counters and an upgrade go by).</summary>
    public static IReadOnlyList<(string Comment, string Rule)> ChainRules { get; } =
    [
        ("source MAC", "iifname @guarded iifname . ether saddr != @macs counter drop"),
        ("ARP sender MAC", "iifname @guarded ether type arp iifname . arp saddr ether != @macs counter drop"),
        ("ARP sender address", "iifname @ipv4_guarded ether type arp iifname . arp saddr ip != @ipv4 counter drop"),
        ("source address", "iifname @ipv4_guarded ether type ip ip saddr != 0.0.0.0 iifname . ip saddr != @ipv4 counter drop"),
        // A guest is a client of its network's services: it may not answer DHCP (v4 or v6) or advertise routes.
        ("DHCP server", "iifname @guarded ether type ip udp sport 67 counter drop"),
        ("DHCPv6 server", "iifname @guarded ether type ip6 udp sport 547 counter drop"),
        ("IPv6 router advertisement", "iifname @guarded ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } counter drop"),
        // The cluster's networks assign IPv4 only: from a tap with an assigned address, IPv6 may only be link-local
        // (or unspecified, for duplicate address detection). Taps of bridged networks keep whatever the LAN gives them.
        ("IPv6 source address", "iifname @ipv4_guarded ether type ip6 ip6 saddr != { ::, fe80::/10 } counter drop"),
    ];

    /// <summary>The table: made when it does not exist yet, never replaced (its sets hold live guests' taps); a table
    /// of an earlier version gets the rules it lacks appended (<see cref="Ensure"/>).</summary>
    public static string Rules =>
        $$"""
        table bridge {{Table}} {
          set guarded { type ifname; }
          set macs { type ifname . ether_addr; }
          set ipv4_guarded { type ifname; }
          set ipv4 { type ifname . ipv4_addr; }
          chain prerouting { type filter hook prerouting priority filter; policy accept;
        {{string.Concat(ChainRules.Select(r => $"    {r.Rule} comment \"{r.Comment}\"\n"))}}  }
        }

        """;

    private void Ensure()
    {
        if (_ready)
            return;
        var (exit, listed, _) = commands.TryRun("nft", ["list", "table", "bridge", Table]);
        if (exit != 0)
        {
            commands.Run("nft", ["-f", "-"], Rules);
        }
        else
        {
            var missing = ChainRules.Where(r => !listed.Contains($"comment \"{r.Comment}\"", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0)
                commands.Run("nft", ["-f", "-"], string.Concat(missing.Select(r => $"add rule bridge {Table} prerouting {r.Rule} comment \"{r.Comment}\"\n")));
        }
        _ready = true;
    }
}
