using System.Globalization;
using System.Net;

namespace Cluster.Vmm.Networking;

/// <summary>
/// An IPv4 subnet in CIDR form ("10.88.0.0/24"), prefix 8 to 30. The first host address is the gateway (the host's
/// bridge); guests get addresses from the second on.
/// </summary>
public sealed record Ipv4Subnet(uint Network, int Prefix)
{
    /// <summary>Parses "a.b.c.d/n"; host bits set, prefixes outside 8..30 and anything else are refused with the reason.</summary>
    public static Ipv4Subnet Parse(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
            throw new FormatException($"'{text}' is not an IPv4 subnet in CIDR form (like 10.88.0.0/24)");
        if (prefix is < 8 or > 30)
            throw new FormatException($"subnet {text}: the prefix must be between 8 and 30 (a guest network needs at least 2 addresses)");
        var bytes = address.GetAddressBytes();
        uint value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
        var subnet = new Ipv4Subnet(value, prefix);
        if ((value & ~subnet.Mask) != 0)
            throw new FormatException($"subnet {text} has host bits set (did you mean {ToText(value & subnet.Mask)}/{prefix}?)");
        return subnet;
    }

    public uint Mask => Prefix == 0 ? 0 : uint.MaxValue << (32 - Prefix);

    /// <summary>The gateway: the first host address, given to the host's bridge.</summary>
    public string Gateway => ToText(Network + 1);

    /// <summary>The first and last addresses guests may get.</summary>
    public (string First, string Last) GuestRange => (ToText(Network + 2), ToText((Network | ~Mask) - 1));

    /// <summary>The guest address with index <paramref name="n"/> (0 is the first after the gateway).</summary>
    public string GuestAddress(int n)
    {
        var value = Network + 2 + (uint)n;
        if (n < 0 || value >= (Network | ~Mask))
            throw new ArgumentOutOfRangeException(nameof(n), $"subnet {this} has no guest address number {n}");
        return ToText(value);
    }

    /// <summary>Whether two subnets share any address.</summary>
    public bool Overlaps(Ipv4Subnet other)
    {
        var mask = Prefix < other.Prefix ? Mask : other.Mask;
        return (Network & mask) == (other.Network & mask);
    }

    public override string ToString() => $"{ToText(Network)}/{Prefix}";

    private static string ToText(uint v) => $"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}";
}
