using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Cli;
using Cluster.Vmctl.Cli.Apply;
using Cluster.Vmctl.Output;

namespace Cluster.Node.Tests.Vmctl.Apply;

public class ApplyRunnerTests
{
    private static readonly DateTime At = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static async Task<(int Code, string Out, string Err)> Apply(CannedClient client, VmSpec spec)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ApplyRunner.RunAsync(client, new ApplyRequest(spec), new Printer(stdout, false), stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Creates_a_vm_that_does_not_exist()
    {
        var client = new CannedClient().On<GetVm>(new VmNotFound("a")).On<CreateVm>(new VmCommandAccepted("a", VmStatus.Defined));
        Assert.Equal((ExitCodes.Ok, "a: created\n", ""), await Apply(client, CannedClient.Spec("a")));
        Assert.Equal(new CreateVm(CannedClient.Spec("a")).Spec.Id, Assert.IsType<CreateVm>(client.Asked[1]).Spec.Id);
    }

    [Fact]
    public async Task Says_unchanged_and_sends_nothing_when_the_spec_is_the_same()
    {
        var client = new CannedClient().On<GetVm>(new VmInfo(CannedClient.Spec("a"), VmStatus.Running, 0, At, "started", "h:1"));
        Assert.Equal((ExitCodes.Ok, "a: unchanged\n", ""), await Apply(client, CannedClient.Spec("a")));
        Assert.Single(client.Asked);
    }

    [Fact]
    public async Task Updates_a_changed_spec_and_passes_on_a_refusal()
    {
        var client = new CannedClient()
            .On<GetVm>(new VmInfo(CannedClient.Spec("a"), VmStatus.Stopped, 0, At, "stopped", "h:1"))
            .On<UpdateVmSpec>(new VmCommandAccepted("a", VmStatus.Stopped), new NotAllowed("a", "VM is Running; stop it before changing its spec"));
        Assert.Equal((ExitCodes.Ok, "a: updated\n", ""), await Apply(client, CannedClient.Spec("a") with { Vcpus = 2 }));
        Assert.Equal(2, Assert.IsType<UpdateVmSpec>(client.Asked[^1]).Spec.Vcpus);
        var refused = await Apply(client, CannedClient.Spec("a") with { Vcpus = 2 });
        Assert.Equal(ExitCodes.Refused, refused.Code);
        Assert.Contains("stop it before changing its spec", refused.Err);
    }

    [Fact]
    public async Task Reads_the_spec_from_standard_input_through_the_command_line()
    {
        Assert.Equal("-", CommandLine.Parse(["apply", "-f", "-"], out _)!.Get("--filename"));
        var request = ApplyRunner.Read("-", new StringReader("id: a\nimage: {builtin: counter}\n"), out var error);
        Assert.Null(error);
        Assert.Equal("a", request!.Spec.Id);
        Assert.Null(ApplyRunner.Read("/nonexistent/vm.yaml", TextReader.Null, out var missing));
        Assert.Contains("cannot read /nonexistent/vm.yaml", missing);
    }
}
