using System.Globalization;
using System.Runtime.InteropServices;

namespace Cluster.Vmm.Machine;

/// <summary>
/// One network interface of a machine, a virtio-net device on the PCI bus, in the order the guest enumerates them.
/// <paramref name="Mac"/> is the guest's address ("52:54:00:12:34:56", unicast), <paramref name="Tap"/> the tap
/// interface the VMM opens (created where it does not exist) unless <see cref="TapFd"/> is given, and
/// <paramref name="Mtu"/> what the device offers the driver (VIRTIO_NET_F_MTU; 1450 under a VXLAN overlay).
/// </summary>
public sealed record NicConfig(string Mac, string? Tap = null, int Mtu = NicConfig.DefaultMtu)
{
    /// <summary>The MTU of an Ethernet segment without an overlay.</summary>
    public const int DefaultMtu = 1500;

    /// <summary>The smallest and largest MTU a NIC may be given (IPv4's minimum; a 64 KiB frame).</summary>
    public const int MinMtu = 68, MaxMtu = 65535 - 18;

    /// <summary>A tap fd already attached (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), passed by a node to its worker: used
    /// instead of opening <see cref="Tap"/>. Not part of the config's value on the wire (it travels beside it, like
    /// <see cref="DiskConfig.Files"/>); the caller owns it, the device keeps a duplicate.</summary>
    public SafeHandle? TapFd { get; init; }

    /// <summary>The MAC as 6 bytes.</summary>
    /// <exception cref="VmmException">not six hex octets separated by ':' or '-', or a multicast address.</exception>
    public byte[] MacBytes() => ParseMac(Mac);

    /// <summary>Checks the config: a unicast MAC, an MTU in range, a tap name or fd.</summary>
    /// <exception cref="VmmException">what is wrong, naming the NIC.</exception>
    public void Validate(int index)
    {
        ParseMac(Mac);
        if (Mtu is < MinMtu or > MaxMtu) throw new VmmException($"nic {index}: MTU {Mtu} is not in {MinMtu}..{MaxMtu}", "nic-config");
        if (TapFd is null && string.IsNullOrEmpty(Tap)) throw new VmmException($"nic {index}: neither a tap name nor a tap fd", "nic-config");
    }

    /// <summary>Parses "52:54:00:12:34:56" (or with '-').</summary>
    /// <exception cref="VmmException">a malformed or multicast address.</exception>
    public static byte[] ParseMac(string mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        var parts = mac.Split(mac.Contains('-') ? '-' : ':');
        var bytes = new byte[6];
        if (parts.Length != 6) throw new VmmException($"MAC '{mac}' is not six octets", "nic-config");
        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
                throw new VmmException($"MAC '{mac}': '{parts[i]}' is not a hex octet", "nic-config");
        }
        if ((bytes[0] & 1) != 0) throw new VmmException($"MAC '{mac}' is a multicast address", "nic-config");
        if (bytes.All(b => b == 0)) throw new VmmException($"MAC '{mac}' is all zeroes", "nic-config");
        return bytes;
    }

    /// <summary>"52:54:00:12:34:56".</summary>
    public static string FormatMac(ReadOnlySpan<byte> mac) => string.Join(':', mac.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
