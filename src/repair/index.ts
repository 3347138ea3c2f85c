export { planRepair, ruleFor, withPrerequisites, REPAIR_TABLE, type RepairPlan, type RepairRule } from "./table";
export { runRepair, renderRepairReport, engineStateScript, type RepairOptions, type RepairReport } from "./run";
