using System.Text.RegularExpressions;
using Spectre.Console;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>A Spectre console writing to a string: a terminal (ANSI, interactive) or redirected output, at a fixed width.</summary>
public static partial class RecordingConsole
{
    public static (IAnsiConsole Console, StringWriter Output) Create(bool interactive, int width)
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = width;
        return (console, output);
    }

    /// <summary>The text without ANSI escape sequences (colours, cursor moves).</summary>
    public static string WithoutEscapes(string text) => AnsiEscape().Replace(text, "");

    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]")]
    private static partial Regex AnsiEscape();
}
