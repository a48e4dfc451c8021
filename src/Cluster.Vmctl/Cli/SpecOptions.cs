using System.Globalization;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Vms;

namespace Cluster.Vmctl.Cli;

/// <summary>Builds a <see cref="VmSpec"/> from <c>vmctl create</c> options; the node validates it.</summary>
public static class SpecOptions
{
    /// <summary>The options create accepts.</summary>
    public static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "--name", "--vcpus", "--memory", "--image", "--elf", "--kernel", "--initrd", "--cmdline", "--arg", "--label",
        "--anti-affinity", "--restart", "--max-restarts", "--priority", "--disk", "--nic", "--start",
    };

    /// <summary>The spec, or null with <paramref name="error"/> naming the bad option.</summary>
    public static VmSpec? Parse(string id, CommandLine line, out string? error)
    {
        error = null;
        var vcpus = 1;
        if (line.Get("--vcpus") is { } v && !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out vcpus))
        {
            error = $"bad --vcpus '{v}'";
            return null;
        }
        var memory = 64UL << 20;
        if (line.Get("--memory") is { } m && !SizeText.TryParse(m, out memory, out var why))
        {
            error = $"bad --memory '{m}': {why}";
            return null;
        }
        GuestImageSpec? image = (line.Get("--image"), line.Get("--elf"), line.Get("--kernel")) switch
        {
            ({ } builtIn, null, null) => new BuiltInImage(builtIn.StartsWith("builtin:", StringComparison.Ordinal) ? builtIn[8..] : builtIn),
            (null, { } elf, null) => new ElfImage(Path.GetFullPath(elf)),
            (null, null, { } kernel) => new LinuxImage(Path.GetFullPath(kernel),
                line.Get("--initrd") is { } initrd ? Path.GetFullPath(initrd) : null, line.Get("--cmdline") ?? "console=ttyS0"),
            _ => null,
        };
        if (image is null)
        {
            error = "give exactly one of --image NAME, --elf PATH or --kernel PATH";
            return null;
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in line.All("--label"))
        {
            var eq = label.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"bad --label '{label}' (KEY=VALUE)";
                return null;
            }
            labels[label[..eq]] = label[(eq + 1)..];
        }
        RestartMode? mode = (line.Get("--restart") ?? "never") switch
        {
            "never" => RestartMode.Never, "on-failure" => RestartMode.OnFailure, "always" => RestartMode.Always, _ => null,
        };
        if (mode is null)
        {
            error = $"bad --restart '{line.Get("--restart")}' (never, on-failure or always)";
            return null;
        }
        var maxRestarts = mode == RestartMode.Never ? 0 : 3;
        if (line.Get("--max-restarts") is { } r && !int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out maxRestarts))
        {
            error = $"bad --max-restarts '{r}'";
            return null;
        }
        var priority = 0;
        if (line.Get("--priority") is { } p
            && !int.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out priority))
        {
            error = $"bad --priority '{p}'";
            return null;
        }
        var disks = new List<DiskSpec>();
        foreach (var text in line.All("--disk"))
        {
            if (DiskSpecText.Parse(text, out var diskError) is not { } disk)
            {
                error = $"bad --disk: {diskError}";
                return null;
            }
            disks.Add(disk);
        }
        var nics = new List<Contracts.Networks.NicSpec>();
        foreach (var text in line.All("--nic"))
        {
            if (NicSpecText.Parse(text, out var nicError) is not { } nic)
            {
                error = $"bad --nic: {nicError}";
                return null;
            }
            nics.Add(nic);
        }
        return new VmSpec(id, line.Get("--name") ?? id, vcpus, memory, image, [.. line.All("--arg")], labels,
            line.Get("--anti-affinity"), new RestartPolicy(mode.Value, maxRestarts), priority) { Disks = disks, Nics = nics };
    }
}
