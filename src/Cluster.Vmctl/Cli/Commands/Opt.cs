using System.CommandLine;

namespace Cluster.Vmctl.Cli.Commands;

/// <summary>
/// Builders of vmctl's options and arguments. Every value is read as text (vmctl checks it and names the option in
/// its message: "bad --vcpus 'x'"), so the parser only decides which option a word belongs to.
/// </summary>
public static class Opt
{
    /// <summary>An option with one value, written <c>--name VALUE</c> or <c>--name=VALUE</c>; given again, the last value
    /// wins (as scripts that append options expect).</summary>
    public static Option<string> Value(string name, string helpName, string description, params string[] completions)
    {
        var option = new Option<string>(name)
        {
            HelpName = helpName, Description = description, Arity = ArgumentArity.OneOrMore, CustomParser = result => result.Tokens[^1].Value,
        };
        if (completions.Length > 0)
            option.CompletionSources.Add(completions);
        return option;
    }

    /// <summary>An option with one value and a short alias (<c>-o</c>).</summary>
    public static Option<string> Short(string name, string alias, string helpName, string description, params string[] completions)
    {
        var option = Value(name, helpName, description, completions);
        option.Aliases.Add(alias);
        return option;
    }

    /// <summary>An option that may be given several times, each time with one value.</summary>
    public static Option<string[]> Many(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description };

    /// <summary>An option without a value.</summary>
    public static Option<bool> Flag(string name, string description, params string[] aliases)
    {
        var option = new Option<bool>(name) { Description = description, Arity = ArgumentArity.Zero };
        foreach (var alias in aliases)
            option.Aliases.Add(alias);
        return option;
    }

    /// <summary>An option of every command (<c>vmctl --json list</c> and <c>vmctl list --json</c> alike).</summary>
    public static T Global<T>(T option) where T : Option
    {
        option.Recursive = true;
        return option;
    }

    /// <summary>A positional argument that may be missing or repeated: vmctl counts them itself and says what is wanted.</summary>
    public static Argument<string> Positional(string name, string description, params string[] completions)
    {
        var argument = new Argument<string>(name) { Description = description, Arity = ArgumentArity.ZeroOrOne };
        if (completions.Length > 0)
            argument.CompletionSources.Add(completions);
        return argument;
    }
}
