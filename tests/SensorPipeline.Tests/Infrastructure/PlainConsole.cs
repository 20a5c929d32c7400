using Spectre.Console;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>A console as a command sees a redirected output (no ANSI, not interactive, 80 columns), writing to a string.</summary>
public static class PlainConsole
{
    public static (IAnsiConsole Console, StringWriter Output) Create()
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 80;
        return (console, output);
    }
}
