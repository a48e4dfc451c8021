using System.Text.RegularExpressions;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;

namespace Cluster.Contracts.Validation;

/// <summary>
/// The one place network specs and NIC specs are checked, naming the field: names, modes, subnets, bridge names, MTUs,
/// MACs. Whether a subnet overlaps another network's is the registry's concern (it knows the others).
/// </summary>
public static partial class NetworkSpecValidator
{
    /// <summary>The most NICs a VM may have.</summary>
    public const int MaxNics = 8;

    /// <summary>Checks a network name alone (1-32 of a-z, 0-9 and '-', starting with a letter or digit).</summary>
    public static ValidationFailed? CheckName(string? name) =>
        name is null || !NamePattern().IsMatch(name)
            ? new ValidationFailed("name", $"'{name}' is not a valid network name: use 1-32 of a-z, 0-9 and '-', starting with a letter or digit")
            : null;

    /// <summary>The first problem of a network a client asks to create (the VNI is the cluster's to assign), or null.</summary>
    public static ValidationFailed? Validate(NetworkSpec? spec)
    {
        if (spec is null)
            return new ValidationFailed("spec", "no network spec given");
        if (CheckName(spec.Name) is { } badName)
            return badName;
        if (!Enum.IsDefined(spec.Mode))
            return new ValidationFailed("mode", $"unknown mode {(int)spec.Mode} (nat, bridge or overlay)");
        var mode = spec.Mode.ToString().ToLowerInvariant();
        if (spec.Mode is NetworkMode.Nat or NetworkMode.Overlay && string.IsNullOrEmpty(spec.Subnet))
            return new ValidationFailed("subnet", $"a {mode} network needs a subnet (like 10.88.0.0/24)");
        if (spec.Subnet is not null && SubnetText.Parse(spec.Subnet, out var problem) is null)
            return new ValidationFailed("subnet", problem!);
        if (spec.Mode == NetworkMode.Bridge && string.IsNullOrEmpty(spec.Bridge))
            return new ValidationFailed("bridge", "a bridge network needs the host bridge its VMs join (--bridge BR)");
        if (spec.Mode != NetworkMode.Bridge && spec.Bridge is not null)
            return new ValidationFailed("bridge", $"a {mode} network makes its own bridge: --bridge is for bridge mode");
        if (spec.Bridge is not null && !InterfacePattern().IsMatch(spec.Bridge))
            return new ValidationFailed("bridge", $"'{spec.Bridge}' is not an interface name: 1-15 of letters, digits, '.', '_' and '-'");
        if (spec.Mtu != 0 && spec.Mtu is < 576 or > 9000)
            return new ValidationFailed("mtu", $"MTU {spec.Mtu} is outside 576..9000");
        if (spec.Vni != 0)
            return new ValidationFailed("vni", "the VNI is assigned by the cluster; leave it out");
        return null;
    }

    /// <summary>
    /// The first problem of a VM's NICs as a client gives them, or null: at most <see cref="MaxNics"/>, valid network
    /// names, MACs that are unicast and not given twice, no addresses (the cluster assigns them).
    /// </summary>
    public static ValidationFailed? CheckNics(IReadOnlyList<NicSpec>? nics)
    {
        if (nics is null)
            return new ValidationFailed("nics", "nics must be a list (empty for none)");
        if (nics.Count > MaxNics)
            return new ValidationFailed("nics", $"{nics.Count} NICs is more than {MaxNics}");
        var macs = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < nics.Count; i++)
        {
            var nic = nics[i];
            if (nic is null)
                return new ValidationFailed("nics", $"NIC {i} is null");
            if (CheckName(nic.Network) is { } bad)
                return new ValidationFailed("nics", $"NIC {i}: {bad.Message}");
            if (nic.Mac is { } mac)
            {
                if (MacText.Problem(mac) is { } problem)
                    return new ValidationFailed("nics", $"NIC {i}: {problem}");
                if (!macs.Add(MacText.Normalize(mac)))
                    return new ValidationFailed("nics", $"NIC {i}: MAC {mac} is given twice");
            }
        }
        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,15}$")]
    private static partial Regex InterfacePattern();
}
