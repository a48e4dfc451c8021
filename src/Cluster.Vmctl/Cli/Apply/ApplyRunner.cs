using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Vmctl.Client;
using Cluster.Vmctl.Output;

namespace Cluster.Vmctl.Cli.Apply;

/// <summary>What <c>vmctl apply -f</c> asks the node for: the spec read from the file.</summary>
public sealed record ApplyRequest(VmSpec Spec);

/// <summary>
/// <c>vmctl apply -f FILE</c>: asks for the VM; creates it when there is none, says "unchanged" when its spec already
/// says what the file says (<see cref="VmSpecComparison"/>), else sends <see cref="UpdateVmSpec"/> (refused while it runs).
/// </summary>
public static class ApplyRunner
{
    /// <summary>Reads the file (<c>-</c>: standard input); null with <paramref name="error"/> when it cannot be read or is no spec.</summary>
    public static ApplyRequest? Read(string file, TextReader stdin, out string? error)
    {
        string text;
        try
        {
            text = file == "-" ? stdin.ReadToEnd() : File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read {file}: {e.Message}";
            return null;
        }
        var spec = SpecFile.Read(text, out error);
        if (spec is null)
            error = $"{(file == "-" ? "standard input" : file)}: {error}";
        return spec is null ? null : new ApplyRequest(spec);
    }

    /// <summary>Creates, leaves or updates the VM and prints what it did (or the refusal).</summary>
    public static async Task<int> RunAsync(IControlClient client, ApplyRequest request, Printer printer, TextWriter stderr)
    {
        var spec = request.Spec;
        var current = await client.AskAsync(new GetVm(spec.Id));
        string action;
        switch (current)
        {
            case VmNotFound:
                var created = await client.AskAsync(new CreateVm(spec));
                if (created is not (VmCommandAccepted or VmCreated))
                    return Replies.Print(created, printer, stderr);
                action = "created";
                break;
            case VmInfo info when VmSpecComparison.Same(spec, info.Spec):
                action = "unchanged";
                break;
            case VmInfo:
                var updated = await client.AskAsync(new UpdateVmSpec(spec));
                if (updated is not VmCommandAccepted)
                    return Replies.Print(updated, printer, stderr);
                action = "updated";
                break;
            default:
                return Replies.Print(current, printer, stderr);
        }
        if (printer.Structured)
            printer.WriteData(new ApplyOutcome(spec.Id, action));
        else
            printer.Line($"{spec.Id}: {action}");
        return ExitCodes.Ok;
    }
}
