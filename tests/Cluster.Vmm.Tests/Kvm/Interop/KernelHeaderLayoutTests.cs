using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Cluster.Vmm.Kvm.Interop;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Vmm.Tests.Kvm.Interop;

/// <summary>
/// Compiles a C program against the installed kernel's user-space headers (&lt;linux/kvm.h&gt; of linux-libc-dev,
/// the headers_install'd form of the kernel's uapi; the raw uapi tree of linux-headers-* does not compile
/// outside the kernel build) that prints the size and every
/// field offset and size of each struct the interop mirrors, and every constant and ioctl number, and compares
/// them with the C# definitions (found by reflection, so a new mirror is checked without touching this test).
/// Needs gcc and kernel headers, not /dev/kvm.
/// </summary>
public sealed class KernelHeaderLayoutTests(ITestOutputHelper output)
{
    private static readonly Assembly Vmm = typeof(KvmConstants).Assembly;

    [Fact]
    public void Every_mirrored_struct_field_constant_and_ioctl_matches_the_kernel_header()
    {
        var expected = CSharpFacts();
        Assert.True(expected.Count > 200, $"only {expected.Count} facts found by reflection");
        var actual = RunCProgram(expected.Keys);
        var mismatches = expected
            .Where(e => !actual.TryGetValue(e.Key, out var c) || c != e.Value)
            .Select(e => $"{e.Key}: C# {e.Value}, C {(actual.TryGetValue(e.Key, out var c) ? c.ToString() : "missing")}")
            .ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        output.WriteLine($"{expected.Count} sizes, offsets, constants and ioctl numbers match");
    }

    [Fact]
    public void Every_mirrored_struct_is_blittable_so_pointers_to_it_can_go_to_the_kernel()
    {
        foreach (var t in MirroredStructs())
        {
            var handle = GCHandle.Alloc(Activator.CreateInstance(t.Type), GCHandleType.Pinned);
            handle.Free();
        }
    }

    private sealed record Mirror(Type Type, KernelStructAttribute Kernel);

    private static IEnumerable<Mirror> MirroredStructs() =>
        Vmm.GetTypes()
            .Select(t => new Mirror(t, t.GetCustomAttribute<KernelStructAttribute>()!))
            .Where(m => m.Kernel is not null);

    private static Dictionary<string, ulong> CSharpFacts()
    {
        var facts = new Dictionary<string, ulong>();
        var mirrors = MirroredStructs().ToList();
        foreach (var (type, k) in mirrors)
        {
            // An anonymous member is addressed through its parent: sizeof(((struct kvm_run*)0)->io), offsetof(struct kvm_run, io.port).
            string owner = k.Parent ?? k.CName;
            string prefix = k.Parent is null ? "" : k.CName + ".";
            ulong baseOffset = k.Parent is null ? 0 : (ulong)Marshal.OffsetOf(mirrors.Single(m => m.Kernel.CName == k.Parent).Type, k.CName);
            if (!k.IsPrefix)
                facts[k.Parent is null ? $"sizeof({k.CName})" : $"sizeof((({owner}*)0)->{k.CName})"] = (ulong)Marshal.SizeOf(type);
            foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                if (f.FieldType.GetCustomAttribute<KernelStructAttribute>() is { Parent: not null }) continue;
                facts[$"offsetof({owner}, {prefix}{f.Name})"] = baseOffset + (ulong)Marshal.OffsetOf(type, f.Name);
                facts[$"sizeof((({owner}*)0)->{prefix}{f.Name})"] = (ulong)Marshal.SizeOf(f.FieldType);
            }
        }
        foreach (var f in typeof(KvmConstants).GetFields(BindingFlags.Public | BindingFlags.Static))
            facts[f.Name] = Convert.ToUInt64(f.GetValue(null));
        foreach (var f in typeof(KvmIoctls).GetFields(BindingFlags.Public | BindingFlags.Static))
            facts[f.Name] = (ulong)(nuint)f.GetValue(null)!;
        return facts;
    }

    private Dictionary<string, ulong> RunCProgram(IEnumerable<string> expressions)
    {
        var dir = Directory.CreateTempSubdirectory("kvm-layout-");
        try
        {
            var c = new StringBuilder("#include <stddef.h>\n#include <stdio.h>\n#include <linux/kvm.h>\nint main(void) {\n");
            foreach (var e in expressions)
                c.Append($"  printf(\"%s=%llu\\n\", \"{e}\", (unsigned long long)({e}));\n");
            c.Append("  return 0;\n}\n");
            string src = Path.Combine(dir.FullName, "layout.c"), exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(src, c.ToString());
            Run("gcc", ["-o", exe, src]);
            return Run(exe, [])
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('='))
                .ToDictionary(p => p[0], p => ulong.Parse(p[1]));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} exited {p.ExitCode}: {stderr}");
        return stdout.Result;
    }
}
