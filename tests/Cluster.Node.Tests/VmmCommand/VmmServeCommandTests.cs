using Cluster.Node.VmmCommand;
using Cluster.Vmm.Hypervisor;

namespace Cluster.Node.Tests.VmmCommand;

public class VmmServeCommandTests
{
    [Fact]
    public void Parses_the_folder_the_name_and_the_backend()
    {
        var parsed = VmmServeCommand.Parse(["--runtime-dir", "/run/w", "--name", "vm-1", "--backend", "kvm"], out var error);
        Assert.Null(error);
        Assert.Equal(("/run/w", "vm-1", BackendKind.Kvm), (parsed!.Value.Options.RuntimeDirectory, parsed.Value.Options.Name, parsed.Value.Backend));
    }

    [Fact]
    public void Defaults_to_the_emulator_and_a_name_from_the_pid()
    {
        var parsed = VmmServeCommand.Parse(["--runtime-dir", "/run/w"], out _);
        Assert.Equal((null, BackendKind.Emulated), (parsed!.Value.Options.Name, parsed.Value.Backend));
    }

    [Fact]
    public void Parses_the_user_to_become_the_client_uid_and_a_kvm_device_passed_by_the_node()
    {
        var parsed = VmmServeCommand.Parse(["--runtime-dir", "/w", "--user", "nobody", "--client-uid", "0", "--backend", "kvm-passed"], out var error);
        Assert.Null(error);
        var (options, backend, kvmPassed) = parsed!.Value;
        Assert.Equal(((uint, uint)?)(65534u, 65534u), options.RunAs);
        Assert.Equal(0u, options.ClientUid);
        Assert.Equal((BackendKind.Kvm, true), (backend, kvmPassed));
    }

    [Fact]
    public void Parses_the_emulators_code_cache_bound_with_4096_pages_by_default()
    {
        Assert.Equal(4096, VmmServeCommand.Parse(["--runtime-dir", "/w"], out _)!.Value.Options.EmulatorCodePages);
        Assert.Equal(64, VmmServeCommand.Parse(["--runtime-dir", "/w", "--code-pages", "64"], out _)!.Value.Options.EmulatorCodePages);
    }

    [Theory]
    [InlineData(new[] { "--runtime-dir", "/w", "--user", "no-such-user-here" }, "no user 'no-such-user-here'")]
    [InlineData(new[] { "--runtime-dir", "/w", "--code-pages", "0" }, "--code-pages takes a page count of at least 1, not '0'")]
    [InlineData(new[] { "--runtime-dir", "/w", "--client-uid", "root" }, "--client-uid takes a numeric uid")]
    [InlineData(new[] { "--name", "x" }, "--runtime-dir is required")]
    [InlineData(new[] { "--runtime-dir" }, "--runtime-dir needs a value")]
    [InlineData(new[] { "--runtime-dir", "/w", "--backend", "xen" }, "unknown backend 'xen'")]
    [InlineData(new[] { "--runtime-dir", "/w", "--fast" }, "unknown argument '--fast'")]
    public void Refuses_bad_arguments_saying_why(string[] args, string why)
    {
        Assert.Null(VmmServeCommand.Parse(args, out var error));
        Assert.StartsWith(why, error);
    }
}
