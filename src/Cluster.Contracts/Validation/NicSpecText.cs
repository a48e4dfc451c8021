using Cluster.Contracts.Networks;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one parser of the NIC syntax of <c>vmctl create --nic</c>: <c>network=NAME[,mac=MAC]</c>, or a bare <c>NAME</c>
/// first (<c>lan,mac=52:54:00:00:00:01</c>). It checks the syntax (unknown and repeated keys) and names what it refuses;
/// the values are <see cref="NetworkSpecValidator.CheckNics"/>'s to check.
/// </summary>
public static class NicSpecText
{
    /// <summary>The keys the syntax knows.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["network", "mac"];

    /// <summary>The NIC <paramref name="text"/> describes, or null with <paramref name="error"/> saying why not.</summary>
    public static NicSpec? Parse(string text, out string? error)
    {
        error = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var items = text.Split(',');
        for (var i = 0; i < items.Length; i++)
        {
            var eq = items[i].IndexOf('=', StringComparison.Ordinal);
            var (key, value) = eq < 0 && i == 0 ? ("network", items[i]) : eq < 0 ? (items[i], "") : (items[i][..eq], items[i][(eq + 1)..]);
            if (!Keys.Contains(key))
            {
                error = $"nic '{text}': unknown option '{key}' (known: {string.Join(", ", Keys)})";
                return null;
            }
            if (!values.TryAdd(key, value))
            {
                error = $"nic '{text}': '{key}' is given twice";
                return null;
            }
        }
        if (values.GetValueOrDefault("network") is not { Length: > 0 } network)
        {
            error = $"nic '{text}': give the network (network=NAME)";
            return null;
        }
        return new NicSpec(network, values.GetValueOrDefault("mac"));
    }

    /// <summary>The NIC as the command line writes it (with the address the cluster assigned, when it has one).</summary>
    public static string Format(NicSpec nic) =>
        $"network={nic.Network}{(nic.Mac is null ? "" : $",mac={nic.Mac}")}{(nic.Ip is null ? "" : $" ({nic.Ip})")}";
}
