using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cluster.Contracts.Validation;

/// <summary>MAC addresses as the cluster writes them: six lower-case hex octets separated by ':'.</summary>
public static class MacText
{
    /// <summary>The six bytes of "52:54:00:12:34:56" (or with '-'), or null when it is not six hex octets.</summary>
    public static byte[]? Parse(string? text)
    {
        if (text is null)
            return null;
        var parts = text.Split(text.Contains('-') ? '-' : ':');
        if (parts.Length != 6)
            return null;
        var bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
                return null;
        }
        return bytes;
    }

    /// <summary>The problem of a MAC a user gives a NIC (malformed, multicast, all zeroes), or null.</summary>
    public static string? Problem(string text) => Parse(text) switch
    {
        null => $"MAC '{text}' is not six hex octets like 52:54:00:12:34:56",
        var b when (b[0] & 1) != 0 => $"MAC '{text}' is a multicast address (the first octet's lowest bit is set)",
        var b when b.All(x => x == 0) => $"MAC '{text}' is all zeroes",
        _ => null,
    };

    /// <summary>The canonical text ("52:54:00:12:34:56") of a valid MAC.</summary>
    public static string Normalize(string text) => Format(Parse(text) ?? throw new FormatException($"'{text}' is not a MAC"));

    /// <summary>"52:54:00:12:34:56".</summary>
    public static string Format(ReadOnlySpan<byte> mac) =>
        string.Join(':', mac.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>
    /// The MAC the cluster gives a VM's NIC number <paramref name="index"/> when none is given: locally administered and
    /// unicast (first octet 0x02 set, 0x01 clear), the rest from a hash of the VM id, the index and <paramref name="attempt"/>
    /// (the next attempt when a network already has the address).
    /// </summary>
    public static string Generate(string vmId, int index, int attempt = 0)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes($"nic:{vmId}:{index}:{attempt}"));
        h[0] = (byte)((h[0] & 0xfe) | 0x02);
        return Format(h.AsSpan(0, 6));
    }

    /// <summary>Whether a MAC is locally administered (the first octet's 0x02 bit).</summary>
    public static bool IsLocallyAdministered(string text) => Parse(text) is { } b && (b[0] & 2) != 0;
}
