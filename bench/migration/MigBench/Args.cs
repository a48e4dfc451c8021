namespace MigBench;

/// <summary>"--name value" options after the mode word.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args)
    {
        string? name = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal)) name = a[2..];
            else if (name is not null) { _values[name] = a; name = null; }
            else throw new ArgumentException($"unexpected argument '{a}'");
        }
    }

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);
    public long GetLong(string name, long fallback) => _values.TryGetValue(name, out var v) ? long.Parse(v) : fallback;
}
