using SensorPipeline.Functions.Hosting;

namespace SensorPipeline.Tests.Unit;

/// <summary>Every setting is in README's table and in <c>start --help</c>.</summary>
public sealed class SettingsReferenceTests
{
    [Fact]
    public void Every_bound_setting_is_listed_for_start_help()
    {
        var listed = SettingsReference.All.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Equal([], SettingsReference.BoundNames().Where(n => !listed.Contains(n)).ToArray());
    }

    [Fact]
    public void Every_listed_setting_is_in_the_readme_configuration_table()
    {
        var readme = File.ReadAllText(Path.Combine(StartupChecksTests.FindRepositoryRoot(), "README.md"));
        var start = readme.IndexOf("## Configuration", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has a Configuration section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var table = string.Join('\n', readme[start..(end < 0 ? readme.Length : end)].Split('\n').Where(l => l.StartsWith('|')));
        Assert.Equal([], SettingsReference.All.Where(s => !table.Contains($"`{s.Name}`", StringComparison.Ordinal)).Select(s => s.Name).ToArray());
    }

    [Fact]
    public void Start_help_lists_every_setting_within_80_columns()
    {
        var help = SettingsReference.Help(80);
        Assert.All(SettingsReference.All, s => Assert.Contains(s.Name, help, StringComparison.Ordinal));
        Assert.All(help.Split('\n'), line => Assert.True(line.Length <= 80, $"{line.Length} columns: {line}"));
    }
}
