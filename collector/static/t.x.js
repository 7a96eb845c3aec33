let[E,F,k,Q]=pa._,d=document,u,W=f=>(...a)=>{try{return f(...a)}catch(x){}},on=(e,f)=>addEventListener(e,W(f),!0),S=(v,n)=>(''+v).slice(0,n),
X=k.exclude&&RegExp('//[^/]*('+k.exclude.replace(/\*/g,'.*').replace(/ *, */g,'|')+')'),
ok=e=>!X||!X.test(e.url),push=Q.push,I=e=>isSecureContext?{...e,event_id:crypto.randomUUID()}:e,
R='vitals'in k&&{'CLS':0},cs=0,cl=0,cw=0,
hd=_=>{if(R){for(let n in R)(R[n]||n=='CLS')&&E('vital',{name:n,value:Math.min(+R[n].toFixed(n=='CLS'?4:0),36e5)});R=0}},
A,O;
Q.push=(...e)=>(Q.g||push).apply(Q,e.filter(ok).map(I));Q.splice(0,Q.length,...Q.filter(ok).map(I));
'consentSource'in k&&(Q.h=Q.splice(0),Q.g=(...e)=>Q.h.push(...e),import('./t.c.js'));
R&&[['paint','FCP',e=>e.name=='first-contentful-paint'&&e.startTime],['navigation','TTFB',e=>e.responseStart],
 ['layout-shift','CLS',e=>e.hadRecentInput?0:(e.startTime-cl>1e3||e.startTime-cw>5e3?(cw=e.startTime,cs=e.value):cs+=e.value,cl=e.startTime,cs)],
 ['largest-contentful-paint','LCP',e=>e.startTime],['event','INP',e=>e.interactionId&&e.duration]]
 .map(([t,n,f])=>W(()=>new PerformanceObserver(W(o=>o.getEntries().map(e=>R&&(R[n]=Math.max(R[n]||0,f(e)))))).observe({'type':t,'buffered':!0,'durationThreshold':16}))());
'heatmap'in k&&on('click',(e,h=d.documentElement,t=e.target.tagName.toLowerCase(),f=v=>v>0?+Math.min(1,v).toFixed(4):0)=>
 e.detail&&E('click',{kind:'heatmap',x:f(e.pageX/h.scrollWidth),y:f(e.pageY/h.scrollHeight),tag:/^[a-z][a-z\d-]{0,31}$/.test(t)?t:u}));
'forms'in k&&['focusin','change','submit'].map(a=>on(a,(e,t=e.target,f=t.tagName=='FORM'?t:t.form,x)=>f&&(
 x={form:S(f.getAttribute('id')||f.getAttribute('name')||'',100),field:f!=t&&S(t.name||t.id,100)||u},
 A=a>'r'?0:x,O!=(O=a+x.form+x.field)&&E('form',{...x,action:a.replace('in','')}))));
on('visibilitychange',()=>d.hidden&&(hd(),F()));
on('pagehide',()=>{hd();A&&E('form',{...A,action:'abandon'});A=0;F()})
