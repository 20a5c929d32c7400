using System.CommandLine;
using SensorPipeline.Soak;

var duration = new Option<int>("--duration") { Description = "Seconds of load with faults.", DefaultValueFactory = _ => 600 };
var rate = new Option<int>("--rate") { Description = "Readings per second posted.", DefaultValueFactory = _ => 500 };
var seed = new Option<int>("--seed") { Description = "Random seed for the fault schedule.", DefaultValueFactory = _ => Environment.TickCount };
var app = new Option<string?>("--app") { Description = "Path of SensorPipeline.Functions.dll (default: the Release, then Debug build in this repository)." };
var root = new RootCommand("SensorPipeline soak: steady load with random faults, then a loss and duplicate check.") { duration, rate, seed, app };
root.SetAction((parse, cancellationToken) => SoakRun.RunAsync(
    parse.GetValue(duration), parse.GetValue(rate), parse.GetValue(seed), parse.GetValue(app), cancellationToken));
return await root.Parse(args).InvokeAsync();
