using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Cluster.Contracts.Validation;

/// <summary>
/// An IPv4 subnet in CIDR form as the network registry uses it ("10.88.0.0/24", prefix 8..30): the first host address
/// is the gateway on every host, guests get addresses from the second on. The same rules as the VMM's
/// <c>Ipv4Subnet</c>, which the contracts cannot reference.
/// </summary>
public sealed record SubnetText(uint Network, int Prefix)
{
    /// <summary>Parses "a.b.c.d/n"; null and the reason for anything else (host bits set, a prefix outside 8..30).</summary>
    public static SubnetText? Parse(string? text, out string? problem)
    {
        problem = null;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash < 0 || !IPAddress.TryParse(text[..slash], out var address) || address.AddressFamily != AddressFamily.InterNetwork
            || text[..slash].Count(c => c == '.') != 3
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            problem = $"'{text}' is not an IPv4 subnet in CIDR form (like 10.88.0.0/24)";
            return null;
        }
        if (prefix is < 8 or > 30)
        {
            problem = $"subnet {text}: the prefix must be between 8 and 30 (a guest network needs at least 2 addresses)";
            return null;
        }
        var b = address.GetAddressBytes();
        var value = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        var subnet = new SubnetText(value, prefix);
        if ((value & ~subnet.Mask) != 0)
        {
            problem = $"subnet {text} has host bits set (did you mean {ToText(value & subnet.Mask)}/{prefix}?)";
            return null;
        }
        return subnet;
    }

    /// <summary>The network mask.</summary>
    public uint Mask => uint.MaxValue << (32 - Prefix);

    /// <summary>How many addresses guests may get (all but the network, the gateway and the broadcast address).</summary>
    public long GuestCount => (1L << (32 - Prefix)) - 3;

    /// <summary>The guest address with index <paramref name="n"/> (0 is the first after the gateway).</summary>
    public string GuestAddress(long n) =>
        n >= 0 && n < GuestCount ? ToText(Network + 2 + (uint)n) : throw new ArgumentOutOfRangeException(nameof(n));

    /// <summary>Whether two subnets share any address.</summary>
    public bool Overlaps(SubnetText other)
    {
        var mask = Prefix < other.Prefix ? Mask : other.Mask;
        return (Network & mask) == (other.Network & mask);
    }

    public override string ToString() => $"{ToText(Network)}/{Prefix}";

    private static string ToText(uint v) => $"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}";
}
