-- Argo CD health of a playout ProbeJob, from the status the operator and the prober write
-- (docs/architecture.md, "Status (kstatus)"). Install: docs/gitops.md.
local hs = {}

local function said(kind, fallback)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == kind and c.message ~= nil and c.message ~= "" then
      return c.message
    end
  end
  return fallback
end

if obj.status == nil or obj.status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the playout operator"
  return hs
end
if obj.status.observedGeneration < (obj.metadata.generation or 0) then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the operator to observe generation %d", obj.metadata.generation)
  return hs
end

local phase = obj.status.phase
local verdict = obj.status.verdict
local scheduled = obj.spec ~= nil and obj.spec.schedule ~= nil
if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = said("Ready", "The probe could not run")
elseif not scheduled and phase ~= "Succeeded" then
  hs.status = "Progressing"
  hs.message = said("Ready", "Probing")
elseif verdict == "fail" then
  hs.status = "Degraded"
  hs.message = said("Ready", "The media failed its checks")
elseif verdict == "pass" or verdict == "warn" then
  -- A scheduled probe keeps the last verdict while the next run is under way, as Argo CD
  -- keeps a CronJob Healthy while its Job runs.
  hs.status = "Healthy"
  hs.message = said("Ready", "Verdict: " .. verdict)
elseif scheduled then
  hs.status = "Healthy"
  hs.message = said("Ready", "Waiting for the first scheduled run")
else
  hs.status = "Degraded"
  hs.message = said("Ready", "The probe finished without a report")
end
return hs
